import Foundation
import Tasks
import Testing

/// Scratch folders are found from any file in them and removed only when they carry the marker.
@Suite struct TaskScratchTests {
    /// A plain folder of the test's own (no marker), removed at the end.
    func plainFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("scratch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aFileDeepInAScratchFolderFindsItAndReleaseRemovesIt() throws {
        let folder = try TaskScratch.make("duo-oracle")
        #expect(folder.lastPathComponent.hasPrefix("loom-duo-oracle-"))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(TaskScratch.marker).path))
        let deep = folder.appendingPathComponent("checkpoint/params")
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        let file = deep.appendingPathComponent("w.npy")
        try Data([1, 2, 3]).write(to: file)
        #expect(TaskScratch.folder(holding: file.path)?.path == folder.path)
        #expect(TaskScratch.folder(holding: folder.appendingPathComponent("checkpoint/./params/../params/w.npy").path)?.path == folder.path)
        #expect(TaskScratch.folder(holding: folder.path)?.path == folder.path, "the folder itself, as a checkpoint artifact is named")
        // Two artifacts in one folder: removed once.
        #expect(TaskScratch.release([file.path, folder.appendingPathComponent("checkpoint").path]).map(\.path) == [folder.path])
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        #expect(TaskScratch.release([file.path]).isEmpty, "already gone: nothing to do, no error")
    }

    @Test func pathsOutsideAnyScratchFolderAreNeverRemoved() throws {
        let plain = try plainFolder()
        defer { try? FileManager.default.removeItem(at: plain) }
        let file = plain.appendingPathComponent("user-checkpoint/checkpoint.json")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: file)
        #expect(TaskScratch.folder(holding: file.path) == nil)
        #expect(TaskScratch.release([file.path, plain.path, "relative/x.npy", "", "/"]).isEmpty)
        #expect(FileManager.default.fileExists(atPath: file.path))

        // A marker that is a folder, or a link to a file, does not make a scratch folder.
        try FileManager.default.createDirectory(at: plain.appendingPathComponent(TaskScratch.marker), withIntermediateDirectories: true)
        #expect(TaskScratch.release([file.path]).isEmpty && FileManager.default.fileExists(atPath: file.path))
        let linked = file.deletingLastPathComponent()
        try FileManager.default.createSymbolicLink(at: linked.appendingPathComponent(TaskScratch.marker), withDestinationURL: file)
        #expect(TaskScratch.release([file.path]).isEmpty && FileManager.default.fileExists(atPath: file.path))
    }

    @Test func aLinkToAScratchFolderIsNotFollowed() throws {
        let folder = try TaskScratch.make("artifact")
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([7]).write(to: folder.appendingPathComponent("a.bin"))
        let plain = try plainFolder()
        defer { try? FileManager.default.removeItem(at: plain) }
        let link = plain.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: folder)
        #expect(TaskScratch.release([link.appendingPathComponent("a.bin").path]).isEmpty)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("a.bin").path))
    }

    @Test func foldersHoldingAFileStillToBeReadAreKept() throws {
        let carried = try TaskScratch.make("artifact"), kept = try TaskScratch.make("artifact")
        defer { try? FileManager.default.removeItem(at: kept) }
        let a = carried.appendingPathComponent("a.bin").path, b = kept.appendingPathComponent("b.bin").path
        let c = kept.appendingPathComponent("c.bin").path
        #expect(TaskScratch.release([a, b, c], keeping: [c]).map(\.path) == [carried.path])
        #expect(!FileManager.default.fileExists(atPath: carried.path) && FileManager.default.fileExists(atPath: kept.path))
    }

    @Test func fillingRemovesTheFolderWhenTheBodyThrows() throws {
        struct Failed: Error {}
        var seen: URL?
        #expect(throws: Failed.self) {
            try TaskScratch.filling("duo-router") { folder -> Int in
                seen = folder
                try Data([1]).write(to: folder.appendingPathComponent("half.svg"))
                throw Failed()
            }
        }
        let failed = try #require(seen)
        #expect(!FileManager.default.fileExists(atPath: failed.path))
        let kept = try TaskScratch.filling("duo-router") { $0 }
        defer { try? FileManager.default.removeItem(at: kept) }
        #expect(FileManager.default.fileExists(atPath: kept.path))
    }

    /// This process's PID namespace, as markers name it.
    static func namespace() throws -> String {
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        return String(link.drop { $0 != "[" }.dropFirst().prefix { $0 != "]" })
    }

    /// The id of a process that has exited.
    static func deadProcess() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func aSweepRemovesOnlyOldFoldersWhoseHolderDied() throws {
        let directory = try plainFolder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dead = try Self.deadProcess(), namespace = try Self.namespace()
        let old = Date().addingTimeInterval(-7200)
        func folder(_ name: String, marker: String?, changed: Date) throws -> URL {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data([1]).write(to: url.appendingPathComponent("ce.npy"))
            if let marker {
                let mark = url.appendingPathComponent(TaskScratch.marker)
                try Data(marker.utf8).write(to: mark)
                try FileManager.default.setAttributes([.modificationDate: changed], ofItemAtPath: mark.path)
            }
            return url
        }
        let orphan = try folder("loom-duo-oracle-1", marker: "holder \(dead) 12345 \(namespace)\n", changed: old)
        let fresh = try folder("loom-duo-oracle-2", marker: "holder \(dead) 12345 \(namespace)\n", changed: Date())
        let elsewhere = try folder("loom-duo-oracle-3", marker: "holder \(dead) 12345 1\n", changed: old)
        let unreadable = try folder("loom-duo-oracle-4", marker: "holder \(dead)\n", changed: old)
        let unmarked = try folder("loom-duo-oracle-5", marker: nil, changed: old)
        let other = try folder("checkpoints", marker: "holder \(dead) 12345 \(namespace)\n", changed: old)
        // Made by this process, which lives: kept however old.
        let mine = try TaskScratch.make("duo")
        defer { try? FileManager.default.removeItem(at: mine) }
        let moved = directory.appendingPathComponent("loom-duo-6")
        try FileManager.default.moveItem(at: mine, to: moved)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: moved.appendingPathComponent(TaskScratch.marker).path)

        #expect(TaskScratch.sweep(olderThan: .seconds(3600), in: directory).map(\.lastPathComponent) == [orphan.lastPathComponent])
        for kept in [fresh, elsewhere, unreadable, unmarked, other, moved] {
            #expect(FileManager.default.fileExists(atPath: kept.path), "\(kept.lastPathComponent) should stay")
        }
        #expect(!FileManager.default.fileExists(atPath: orphan.path))

        // Adopted by this process, a dead worker's folder is no longer an orphan.
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: fresh.appendingPathComponent(TaskScratch.marker).path)
        TaskScratch.adopt([fresh.appendingPathComponent("ce.npy").path])
        let marker = try String(contentsOf: fresh.appendingPathComponent(TaskScratch.marker), encoding: .utf8)
        #expect(marker.hasPrefix("holder \(getpid()) ") && marker.hasSuffix(" \(namespace)\n"), "\(marker)")
        #expect(TaskScratch.sweep(olderThan: .zero, in: directory).isEmpty)
    }

    @Test func aPurposeCannotLeaveTheTemporaryDirectory() throws {
        let folder = try TaskScratch.make("../../etc/x y;$(z)")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(folder.deletingLastPathComponent().standardizedFileURL.path == FileManager.default.temporaryDirectory.standardizedFileURL.path)
        #expect(folder.lastPathComponent.hasPrefix("loom-etcxyz-"), "\(folder.lastPathComponent)")
    }
}
