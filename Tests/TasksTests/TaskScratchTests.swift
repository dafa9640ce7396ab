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

        // A marker that is a folder, not a file, does not make a scratch folder.
        try FileManager.default.createDirectory(at: plain.appendingPathComponent(TaskScratch.marker), withIntermediateDirectories: true)
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

    @Test func aPurposeCannotLeaveTheTemporaryDirectory() throws {
        let folder = try TaskScratch.make("../../etc/x y;$(z)")
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(folder.deletingLastPathComponent().standardizedFileURL.path == FileManager.default.temporaryDirectory.standardizedFileURL.path)
        #expect(folder.lastPathComponent.hasPrefix("loom-etcxyz-"), "\(folder.lastPathComponent)")
    }
}
