import Foundation

/// The folder a task writes the artifact files its outcome names: `<tmp>/loom-<purpose>-<UUID>`,
/// holding a marker file. Whoever has stored the files releases the folder (the runner once
/// they are in the store, a worker once it has carried them in the result), so a sweep of a
/// thousand runs leaves nothing behind in the temporary directory. Only folders with the marker,
/// owned by this user, are ever removed: a path a task names elsewhere (a `checkpoint_dir`
/// the user gave) is left alone. The marker names the process that holds the folder; a worker
/// starting up removes folders whose holder has died (`sweep`), such as a killed worker's.
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
        guard FileManager.default.createFile(atPath: folder.appendingPathComponent(marker).path, contents: Holder.current.line) else {
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

    /// Makes this process the holder of the scratch folders holding `paths` (the runner, of
    /// shards' files it keeps until their join), so that a sweep leaves them while it lives.
    public static func adopt(_ paths: [String]) {
        var seen = Set<String>()
        for path in paths {
            guard let folder = folder(holding: path), seen.insert(folder.path).inserted else { continue }
            try? Holder.current.line.write(to: folder.appendingPathComponent(marker), options: .atomic)
        }
    }

    /// Removes the scratch folders in `directory` whose holder has died and whose marker has not
    /// changed for `age` (a worker sends its result before a runner adopts or stores the files;
    /// the age covers that gap). A marker that names no holder, or one this machine cannot check,
    /// keeps its folder. - Returns: the folders removed.
    @discardableResult
    public static func sweep(olderThan age: Duration = .seconds(3600),
                             in directory: URL = FileManager.default.temporaryDirectory) -> [URL] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        let cutoff = Date().addingTimeInterval(-Double(age.components.seconds))
        var removed: [URL] = []
        for name in names where name.hasPrefix("loom-") {
            let folder = directory.appendingPathComponent(name, isDirectory: true)
            let mark = folder.appendingPathComponent(marker)
            guard isScratch(folder), let holder = Holder(markerAt: mark), holder.hasDied,
                  let changed = (try? FileManager.default.attributesOfItem(atPath: mark.path))?[.modificationDate] as? Date,
                  changed < cutoff else { continue }
            if (try? FileManager.default.removeItem(at: folder)) != nil { removed.append(folder) }
        }
        return removed
    }

    /// A process by its id, its start time (clock ticks after boot, `/proc/PID/stat`), so a
    /// reused id is not taken for the process that died, and its PID namespace, so a process
    /// of another container sharing the folder is never judged by this one's ids.
    struct Holder: Equatable {
        var pid: Int32, started: UInt64, namespace: UInt64

        static let current = Holder(pid: getpid(), started: startTime(of: getpid()) ?? 0, namespace: pidNamespace() ?? 0)

        var line: Data { Data("holder \(pid) \(started) \(namespace)\n".utf8) }

        init(pid: Int32, started: UInt64, namespace: UInt64) { self.pid = pid; self.started = started; self.namespace = namespace }

        /// The holder a marker names; nil for an empty marker, a longer one, or another format.
        init?(markerAt url: URL) {
            guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
            defer { try? handle.close() }
            guard let data = try? handle.read(upToCount: 64), data.count < 64,
                  let text = String(data: data, encoding: .utf8) else { return nil }
            let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard parts.count == 4, parts[0] == "holder", let pid = Int32(parts[1]), pid > 0, let started = UInt64(parts[2]), started > 0,
                  let namespace = UInt64(parts[3]), namespace > 0 else { return nil }
            self.init(pid: pid, started: started, namespace: namespace)
        }

        /// Whether no process with this id and start time runs in this PID namespace (false when
        /// that cannot be told: another namespace, or no /proc here).
        var hasDied: Bool {
            let here = Holder.current
            guard here.started > 0, here.namespace > 0, namespace == here.namespace else { return false }
            return Holder.startTime(of: pid) != started
        }

        /// The inode of `/proc/self/ns/pid` (its link reads `pid:[INODE]`).
        static func pidNamespace() -> UInt64? {
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid"),
                  let open = link.firstIndex(of: "["), let close = link.lastIndex(of: "]"), open < close else { return nil }
            return UInt64(link[link.index(after: open)..<close])
        }

        /// Field 22 of `/proc/PID/stat` (after the command name, which may hold spaces and parentheses).
        static func startTime(of pid: Int32) -> UInt64? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 19 ? UInt64(fields[19]) : nil
        }
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
