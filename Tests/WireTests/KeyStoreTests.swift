import Foundation
import Testing
@testable import Wire

/// Key files and allow-lists in a fresh temporary directory per test.
@Suite(.enabled(if: Context.hasCurve, "libzmq was built without CURVE"))
struct KeyStoreTests {
    /// A store in a new temporary directory; `body` runs, then the directory is removed.
    func withStore(_ body: (KeyStore) throws -> Void) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try body(KeyStore(directory: directory.path))
    }

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber).intValue
    }

    @Test func savedPairLoadsBackWithPrivateSecretFile() throws {
        try withStore { store in
            let pair = try store.generate(name: "coordinator")
            #expect(try mode(store.secretKeyPath("coordinator")) == 0o600)
            #expect(try mode(store.publicKeyPath("coordinator")) == 0o644)
            let loaded = try store.loadPair(named: "coordinator")
            #expect(loaded.publicKey == pair.publicKey && loaded.secretKey == pair.secretKey)
            #expect(try store.loadPublicKey(named: "coordinator") == pair.publicKey)
            let text = try String(contentsOfFile: store.publicKeyPath("coordinator"), encoding: .utf8)
            #expect(text == pair.publicKey.text + "\n")
        }
    }

    @Test func existingPairIsKeptUnlessOverwriteIsAsked() throws {
        try withStore { store in
            let first = try store.generate(name: "w1")
            #expect {
                try store.generate(name: "w1")
            } throws: { error in
                "\(error)".contains("already exists") && "\(error)".contains("--force")
            }
            #expect(try store.loadPublicKey(named: "w1") == first.publicKey)
            let second = try store.generate(name: "w1", overwrite: true)
            #expect(second.publicKey != first.publicKey)
            #expect(try store.loadPair(named: "w1").publicKey == second.publicKey)
            #expect(try mode(store.secretKeyPath("w1")) == 0o600)
        }
    }

    @Test func secretKeyOpenToOthersIsRefusedWithTheFix() throws {
        try withStore { store in
            try store.generate(name: "w2")
            let path = store.secretKeyPath("w2")
            #expect(chmod(path, 0o644) == 0)
            #expect {
                try store.loadPair(named: "w2")
            } throws: { error in
                "\(error)".contains("chmod 600 \(path)") && "\(error)".contains("644")
            }
        }
    }

    @Test func missingPairNamesTheGenerateCommand() throws {
        try withStore { store in
            #expect {
                try store.loadPair(named: "coordinator")
            } throws: { error in
                "\(error)".contains("loom keys generate --name coordinator --keys \(store.directory)")
            }
        }
    }

    @Test func commentsInKeyFilesAreSkippedAndMismatchedPairsRefused() throws {
        try withStore { store in
            let pair = try store.generate(name: "w3")
            let other = try CurveKeyPair.generate()
            let path = store.publicKeyPath("w3")
            try "# worker 3\n\n\(pair.publicKey)\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try store.loadPair(named: "w3").publicKey == pair.publicKey)
            try "\(other.publicKey)\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect { try store.loadPair(named: "w3") } throws: { "\($0)".contains("does not match") }
        }
    }

    @Test(arguments: ["", "../escape", ".hidden", "a/b", "white space"])
    func unusableNamesAreRefused(name: String) throws {
        try withStore { store in
            #expect { try store.generate(name: name) } throws: { "\($0)".contains("not a usable key name") }
        }
    }

    @Test func allowListReadsKeysNamesAndComments() throws {
        let a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate(), c = try CurveKeyPair.generate()
        let text = "# workers\n\n\(a.publicKey) worker-1\n  \(b.publicKey)\t# no name\n\(c.publicKey) w3 # third\n"
        let list = try AllowList(parsing: text, path: "allowed_keys")
        #expect(list.entries.count == 3)
        #expect(list.contains(a.publicKey) && list.contains(b.publicKey) && list.contains(c.publicKey))
        #expect(list.name(of: a.publicKey) == "worker-1" && list.name(of: b.publicKey) == nil)
        #expect(list.name(of: c.publicKey) == "w3")
        #expect(!list.contains(try CurveKeyPair.generate().publicKey))
    }

    @Test func malformedAllowListLineNamesPathAndLine() throws {
        try withStore { store in
            let a = try CurveKeyPair.generate()
            try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true)
            try "# header\n\(a.publicKey) a\n\nnot-a-key here\n".write(toFile: store.allowListPath, atomically: true,
                                                                       encoding: .utf8)
            #expect {
                try store.loadAllowList()
            } throws: { error in
                "\(error)".contains("\(store.allowListPath):4") && "\(error)".contains("not-a-key")
            }
            try "\(a.publicKey) a extra\n".write(toFile: store.allowListPath, atomically: true, encoding: .utf8)
            #expect { try store.loadAllowList() } throws: { "\($0)".contains("\(store.allowListPath):1") }
        }
    }

    /// Whoever can write the allow-list, or its folder, decides who may connect: refused as
    /// OpenSSH refuses such an authorized_keys.
    @Test func anAllowListOthersCanWriteIsRefused() throws {
        try withStore { store in
            let a = try CurveKeyPair.generate()
            try FileManager.default.createDirectory(atPath: store.directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try "\(a.publicKey) a\n".write(toFile: store.allowListPath, atomically: true, encoding: .utf8)
            chmod(store.allowListPath, 0o644)
            #expect(try store.loadAllowList().contains(a.publicKey))
            chmod(store.allowListPath, 0o666)
            #expect { try store.loadAllowList() } throws: { "\($0)".contains("can be written by group or others") && "\($0)".contains("chmod go-w") }
            chmod(store.allowListPath, 0o644)
            chmod(store.directory, 0o777)
            #expect { try store.loadAllowList() } throws: { "\($0)".contains("the allow-list's folder") }
            chmod(store.directory, 0o700)
        }
    }

    @Test func missingAllowListNamesThePath() throws {
        try withStore { store in
            #expect { try store.loadAllowList() } throws: { "\($0)".contains(store.allowListPath) }
        }
    }
}
