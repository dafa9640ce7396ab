import Foundation
import ProcessTestSupport
import Testing

/// `loom sim` as users run it: a prediction in JSON, and bad settings refused before any work.
@Suite struct SimCommandTests {
    @Test func aComputeBoundRingIsPStepsOfCompute() throws {
        let ran = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "4", "--tokens", "4096", "--link-gbps", "1000000",
                                       "--compute-gflops", "50", "--json"])
        #expect(ran.status == 0, "\(ran)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ran.standardOutput.utf8)) as? [String: Any])
        let predicted = try #require(object["predicted_s"] as? Double)
        let expected = 4 * (4 * 1024.0 * 1024 * 8 * 64 / 50e9)     // 4 steps of a 1024 × 1024 block, H = 8, d = 64
        #expect(abs(predicted - expected) / expected < 1e-4, "\(predicted) vs \(expected)")
        #expect(object["bytes_sent"] as? Int == 4 * 3 * 2 * 1024 * 8 * 64 * 4)
    }

    @Test func badSettingsAreRefused() throws {
        let ulysses = try LoomProcess.run(["sim", "--algorithm", "ulysses", "--workers", "4", "--tokens", "64", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(ulysses.status == 2 && ulysses.standardError.contains("ring and zigzag_ring so far"), "\(ulysses)")
        let tiny = try LoomProcess.run(["sim", "--algorithm", "zigzag_ring", "--workers", "4", "--tokens", "7", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(tiny.status == 2 && tiny.standardError.contains("8 chunks"), "\(tiny)")
        let gqa = try LoomProcess.run(["sim", "--workers", "2", "--tokens", "64", "--heads", "6", "--kv-heads", "4", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(gqa.status == 2 && gqa.standardError.contains("multiple"), "\(gqa)")
    }
}
