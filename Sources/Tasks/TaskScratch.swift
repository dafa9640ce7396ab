import Foundation

/// The folder a task writes the artifact files its outcome names: `<tmp>/loom-<purpose>-<UUID>`,
/// holding a marker file. Whoever has stored the files releases the folder (the runner once
/// they are in the store, a worker once it has carried them in the result), so a sweep of a
/// thousand runs leaves nothing behind in the temporary directory. Only folders with the marker,
/// owned by this user, are ever removed: a path a task names elsewhere (a `checkpoint_dir`
/// the user gave) is left alone.
public enum TaskScratch {
    /// The marker's file name.
    public static let marker = ".loom-task-scratch"
    /// How far above a named path its scratch folder may lie (a checkpoint's `params/x.npy`).
    static let deepest = 6

    /// A fresh, empty scratch folder (its marker aside).
    /// - Parameter purpose: a word for the folder's name (`duo-oracle`), so a stray folder says
    ///   what wrote it.
    public static func make(_ purpose: String) throws -> URL {
        let name = "loom-\(purpose.filter { $0.isLetter || $0.isNumber || $0 == "-" })-\(UUID().uuidString)"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: folder.appendingPathComponent(marker).path, contents: Data()) else {
            try? FileManager.default.removeItem(at: folder)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: folder.path])
        }
        return folder
    }

    /// `body` given a fresh scratch folder, which is removed if `body` throws (an attempt that
    /// failed or was cancelled names no artifact, so nobody else would release it).
    public static func filling<T>(_ purpose: String, _ body: (URL) throws -> T) throws -> T {
        let folder = try make(purpose)
        do { return try body(folder) } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// The scratch folder holding `path` (the path itself or a folder at most `deepest` levels
    /// above it, with the marker and owned by this user), or nil.
    public static func folder(holding path: String) -> URL? {
        guard path.hasPrefix("/") else { return nil }
        var url = URL(fileURLWithPath: path).standardizedFileURL
        for _ in 0...deepest {
            if isScratch(url) { return url }
            let parent = url.deletingLastPathComponent()
            if parent.path == url.path { return nil }
            url = parent
        }
        return nil
    }

    /// Removes the scratch folders that hold any of `paths`, except those that also hold one of
    /// `kept` (files a result could not carry, still to be read from where they are). Paths in no
    /// scratch folder are left. Never throws: a folder already gone is what was wanted.
    /// - Returns: the folders removed.
    @discardableResult
    public static func release(_ paths: [String], keeping kept: [String] = []) -> [URL] {
        let keep = Set(kept.compactMap { folder(holding: $0)?.path })
        var removed: [URL] = []
        var seen = Set<String>()
        for path in paths {
            guard let folder = folder(holding: path), seen.insert(folder.path).inserted, !keep.contains(folder.path) else { continue }
            if (try? FileManager.default.removeItem(at: folder)) != nil { removed.append(folder) }
        }
        return removed
    }

    /// Whether `url` is a real folder (not a link) with the marker, owned by this user.
    static func isScratch(_ url: URL) -> Bool {
        var folder = stat(), mark = stat()
        guard lstat(url.path, &folder) == 0, (folder.st_mode & S_IFMT) == S_IFDIR, folder.st_uid == getuid(),
              lstat(url.appendingPathComponent(marker).path, &mark) == 0, (mark.st_mode & S_IFMT) == S_IFREG,
              mark.st_uid == getuid() else { return false }
        return true
    }
}
