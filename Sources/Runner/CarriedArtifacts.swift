import Cluster
import Foundation

/// Artifact files that came inside a result (from a worker on another machine, with no shared
/// filesystem) are written under the artifacts folder and the result's paths pointed at them, so
/// that copying into the store, hashing and joining shards read exactly what the worker wrote.
public enum CarriedArtifacts {
    /// The staging folder inside `artifacts` (one subfolder per invocation).
    public static func staging(_ artifacts: URL) -> URL { artifacts.appendingPathComponent(".carried") }

    /// `result` with each carried file written to `staging/TASK-ATTEMPT/I/NAME` (NAME kept, so
    /// the stored copy has the worker's file name) and the matching artifact path replaced by
    /// it; unchanged when nothing was carried.
    public static func materialize(_ result: TaskResult, staging: URL) throws -> TaskResult {
        guard !result.files.isEmpty else { return result }
        var result = result
        var unused = result.files
        for (index, path) in result.artifacts.enumerated() {
            // Ranks of a gang may report the same path, each on its own host: match in order.
            guard let match = unused.firstIndex(where: { $0.path == path }) else { continue }
            let file = unused.remove(at: match)
            let name = URL(fileURLWithPath: path).lastPathComponent
            let folder = staging.appendingPathComponent("\(result.taskID)-\(result.attempt)/\(index)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let target = folder.appendingPathComponent(name.isEmpty ? "artifact" : name)
            try file.contents.write(to: target)
            result.artifacts[index] = target.path
        }
        result.files = []
        return result
    }
}
