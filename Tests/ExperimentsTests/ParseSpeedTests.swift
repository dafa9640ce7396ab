import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// Reading and checking a file is linear: the largest files the reader accepts (1 MiB) load in
/// well under a second. Before, the duplicate-key check and appending to a collection copied
/// every earlier entry, and 80,000 keys took minutes.
@Suite(.timeLimit(.minutes(1))) struct ParseSpeedTests {
    /// Loads (and expands, if it loads) `text`; the seconds taken and the error, if any.
    static func time(_ text: String) throws -> (seconds: Double, error: String?) {
        let directory = try TemporaryDirectory()
        try text.write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        var message: String?
        do {
            _ = try ExperimentLoader.load(directory.path("x.yaml"), registry: TaskRegistry.builtIn).expand(registry: TaskRegistry.builtIn)
        } catch {
            message = "\(error)"
        }
        let elapsed = (ContinuousClock.now - start).components
        return (Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18, message)
    }

    // Bounds: 10 s on a debug build; measured under 0.5 s each on a 2-core machine (minutes before).
    @Test func eightyThousandKeysLoadQuickly() throws {
        let params = try ParseSpeedTests.time("name: x\ntask: gemm\nparams:\n" + (0..<80_000).map { "  k\($0): 1\n" }.joined())
        #expect(params.seconds < 10, "took \(params.seconds) s")
        #expect(params.error?.contains("unknown key 'k0' in params") == true)
        let top = try ParseSpeedTests.time((0..<80_000).map { "k\($0): 1\n" }.joined())
        #expect(top.seconds < 10, "took \(top.seconds) s")
        #expect(top.error?.contains("unknown key 'k0' in the experiment") == true)
        let report = try ParseSpeedTests.time("name: x\ntask: gemm\nreport:\n" + (0..<80_000).map { "  k\($0): 1\n" }.joined()
                                              + "  k0: 2\n")
        #expect(report.seconds < 10, "took \(report.seconds) s")
        #expect(report.error?.contains("key 'k0' appears twice in this mapping (first at line 4)") == true)
    }

    @Test func aLongListLoadsQuickly() throws {
        let list = try ParseSpeedTests.time("name: x\ntask: gemm\nreport: [" + Array(repeating: "1", count: 300_000).joined(separator: ",") + "]\n")
        #expect(list.seconds < 10 && list.error == nil, "took \(list.seconds) s: \(list.error ?? "")")
    }
}
