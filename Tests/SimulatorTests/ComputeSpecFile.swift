import Foundation
import Simulator

/// Loads a small switch topology whose `compute:` line is `compute`, written to a scratch file
/// (line 6 of it), for the tests of the compute mapping's keys.
func topology(withCompute compute: String) throws -> Topology {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-compute-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("t.yaml").path
    try "name: t\nsource: test\nkind: switch\nranks: 2\nlink: {gbytes_per_s: 100, latency_us: 1}\ncompute: \(compute)\n"
        .write(toFile: path, atomically: true, encoding: .utf8)
    return try TopologyFile.load(path: path)
}
