import Foundation

extension ResultsStore {
    /// What `loom gc` found or removed.
    public struct Collection: Sendable {
        /// Artifact files under the artifact directory that no row names.
        public var orphanFiles: [String] = []
        /// Artifact rows whose file is gone (kept: the checksum is still history).
        public var missingFiles: [String] = []
        /// Runs deleted with `--experiment`.
        public var deletedRuns = 0
        public var bytesFreed = 0
    }

    /// Finds (and unless `dryRun`, removes) artifact files no row names; with `experiment`,
    /// deletes that experiment wholly: its runs and everything hanging off them, their artifact
    /// files, its invocations and events. Then compacts the file (VACUUM).
    /// - Throws: `StoreError`, e.g. when another `loom run` holds the store.
    public func collectGarbage(artifacts directory: URL, experiment: String?, dryRun: Bool) throws(StoreError) -> Collection {
        var result = Collection()
        var doomed = Set<String>()     // artifact rows the deletion removes (still present in a dry run)
        if let experiment {
            guard case let .integer(id)? = try database.query("SELECT id FROM experiment WHERE name = ?", [.text(experiment)]).first?.first else {
                throw StoreError(path: path, step: "gc", code: 0, message: "no experiment '\(experiment)' in the store")
            }
            let runIDs = try database.query("SELECT id FROM run WHERE experiment_id = ?", [.integer(id)]).compactMap { row -> Int64? in
                if case let .integer(run) = row[0] { run } else { nil }
            }
            result.deletedRuns = runIDs.count
            for row in try database.query("SELECT path FROM artifact WHERE run_id IN (SELECT id FROM run WHERE experiment_id = ?)", [.integer(id)]) {
                if case let .text(file) = row[0] { doomed.insert(file) }
            }
            if !dryRun {
                try database.transaction { () throws(StoreError) in
                    let runs = "SELECT id FROM run WHERE experiment_id = \(id)"
                    for table in ["param", "metric", "artifact", "attempt", "event"] {
                        try database.execute("DELETE FROM \(table) WHERE run_id IN (\(runs))")
                    }
                    try database.execute("DELETE FROM run WHERE experiment_id = \(id)")
                    let invocations = "SELECT id FROM invocation WHERE experiment_id = \(id)"
                    for table in ["event", "worker"] { try database.execute("DELETE FROM \(table) WHERE invocation_id IN (\(invocations))") }
                    try database.execute("DELETE FROM invocation WHERE experiment_id = \(id)")
                    try database.execute("DELETE FROM experiment WHERE id = \(id)")
                }
            }
        }
        // Files: everything under the artifact directory that no remaining row names. A row is
        // matched by where it lies in the folder (`<run id>/<name>`, as `collectArtifacts` stores
        // it), not by its absolute path: a store that was moved, copied or reached through a link
        // still names its files, and a directory artifact (a checkpoint) names every file in it.
        var named: [String: String] = [:]      // key → the path the row holds
        for row in try database.query("SELECT path FROM artifact") {
            if case let .text(path) = row[0], let key = Self.artifactKey(path) { named[key] = path }
        }
        for path in doomed { if let key = Self.artifactKey(path) { named[key] = nil } }
        let manager = FileManager.default
        let depth = directory.standardizedFileURL.pathComponents.count
        if let walker = manager.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) {
            for case let url as URL in walker {
                guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { continue }
                let inside = url.standardizedFileURL.pathComponents.dropFirst(depth)
                if inside.count >= 2 && named[inside.prefix(2).joined(separator: "/")] != nil { continue }
                result.orphanFiles.append(url.path)
                result.bytesFreed += (try? url.resourceValues(forKeys: [.fileSizeKey]))?.fileSize ?? 0
            }
        }
        result.missingFiles = named.filter { !manager.fileExists(atPath: directory.appendingPathComponent($0.key).path) }.map(\.value).sorted()
        if !dryRun {
            for file in result.orphanFiles { try? manager.removeItem(atPath: file) }
            // Run directories left empty.
            for run in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] {
                let path = directory.appendingPathComponent(run).path
                if (try? manager.contentsOfDirectory(atPath: path))?.isEmpty == true { try? manager.removeItem(atPath: path) }
            }
            let before = fileSize
            try database.execute("VACUUM")
            try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            result.bytesFreed += max(0, before - fileSize)
        }
        return result
    }

    /// Where a stored artifact lies inside the artifact folder: its run's folder and its name.
    static func artifactKey(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return parts.count >= 2 ? parts.suffix(2).joined(separator: "/") : nil
    }

    private var fileSize: Int {
        ["", "-wal"].reduce(0) { $0 + ((try? FileManager.default.attributesOfItem(atPath: path + $1)[.size] as? Int) ?? 0) }
    }
}
