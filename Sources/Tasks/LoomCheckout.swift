import Foundation

/// Finds the Loom checkout, for the data files it holds (the default corpus, the topology presets).
public enum LoomCheckout {
    /// The first directory holding Package.swift and `directory`, walking up from the current
    /// directory, else from this source file's path at build time.
    public static func root(holding directory: String) -> URL? {
        for start in [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), URL(fileURLWithPath: #filePath)] {
            var candidate = start.standardizedFileURL
            for _ in 0..<12 {
                if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Package.swift").path),
                   FileManager.default.fileExists(atPath: candidate.appendingPathComponent(directory).path) { return candidate }
                let parent = candidate.deletingLastPathComponent()
                if parent.path == candidate.path { break }
                candidate = parent
            }
        }
        return nil
    }
}
