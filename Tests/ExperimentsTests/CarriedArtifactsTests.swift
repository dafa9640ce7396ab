import Cluster
import Foundation
import ProcessTestSupport
import Runner
import Testing

/// Files carried in a result are stored even though their paths do not exist on this machine.
@Suite struct CarriedArtifactsTests {
    @Test func carriedFilesAreStagedAndStoredWithTheirNames() throws {
        let scratch = try TemporaryDirectory()
        // Two ranks of a gang each wrote /remote/out/ce.npy on their own host.
        let first = Data((0..<3000).map { UInt8(truncatingIfNeeded: $0) }), second = Data(repeating: 7, count: 10)
        var result = TaskResult(taskID: 12, attempt: 2, succeeded: true, metrics: [:],
                                artifacts: ["/remote/out/ce.npy", "/remote/out/ce.npy", "/remote/only-a-path.bin"],
                                error: "", seconds: 0, worker: "a,b")
        result.files = [CarriedFile(path: "/remote/out/ce.npy", contents: first), CarriedFile(path: "/remote/out/ce.npy", contents: second)]
        let staged = try CarriedArtifacts.materialize(result, staging: scratch.url.appendingPathComponent("staging"))
        #expect(staged.files.isEmpty)
        #expect(staged.artifacts[2] == "/remote/only-a-path.bin", "a file that was not carried keeps its path")
        #expect(staged.artifacts[0] != staged.artifacts[1] && staged.artifacts[0].hasSuffix("/ce.npy"))
        #expect(FileManager.default.contents(atPath: staged.artifacts[0]) == first)
        #expect(FileManager.default.contents(atPath: staged.artifacts[1]) == second)

    }
}
