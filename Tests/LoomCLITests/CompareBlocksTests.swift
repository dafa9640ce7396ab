import Foundation
import ProcessTestSupport
import Testing
@testable import LoomCLI

/// `loom bench attention --compare-blocks QxK`: the kernel on other tiles as a fourth sample of
/// each turn, paired with the configured tiles turn by turn, its outputs checked against theirs.
@Suite struct CompareBlocksTests {
    @Test(arguments: [
        ("192x384", 192, 384), ("16×32", 16, 32), ("1x65536", 1, 65_536),
    ])
    func tilesParse(text: String, query: Int, key: Int) {
        let blocks = AttentionBenchmark.Blocks(text)
        #expect(blocks?.query == query && blocks?.key == key, "\(text) → \(String(describing: blocks))")
    }

    @Test(arguments: ["0x5", "5x0", "128", "x", "64x", "x64", "64x64x64", "-1x64", "65537x16", "9223372036854775807x1", "a×b"])
    func badTilesAreRefused(text: String) throws {
        #expect(AttentionBenchmark.Blocks(text) == nil, "\(text)")
        let outcome = try LoomProcess.run(["bench", "attention", "--compare-blocks", text])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("--compare-blocks must be QxK"), "\(outcome)")
        #expect(outcome.standardOutput.isEmpty, "\(outcome)")
    }

    /// The ratio of each turn's times, not of the medians: a slow turn slows both alike.
    @Test func pairedSpeedupIsTheMedianOfEachTurnsRatio() {
        var configured = Samples(), compared = Samples()
        // Turns: 10 vs 5 (2×), 40 vs 50 (0.8×), 30 vs 20 (1.5×).
        for (a, b) in [(10, 5), (40, 50), (30, 20)] {
            configured.append(.milliseconds(a))
            compared.append(.milliseconds(b))
        }
        let paired = configured.pairedSpeedup(of: compared)
        #expect(abs(paired.median - 1.5) < 1e-12, "\(paired)")
        #expect(paired.faster == 2 && paired.turns == 3, "\(paired)")
    }

    @Test func aSmallCaseReportsTheComparedTiles() throws {
        let run = ["bench", "attention", "--sizes", "96", "--head-dims", "16", "--heads", "2", "--repeat", "3",
                   "--threads", "1", "--naive-max", "0", "--compare-blocks", "32x48"]
        let table = try LoomProcess.run(run)
        try #require(table.status == 0, "\(table)")
        #expect(table.standardOutput.contains("compared tiles    32×48"), "\(table)")
        #expect(table.standardOutput.contains("32×48 speed-up"), "\(table)")
        // Four cases (full and causal, forward and backward), each with a paired ratio over 3 turns.
        let rows = table.standardOutput.split(separator: "\n").filter { $0.hasPrefix("  96") || $0.hasPrefix("96") }
        #expect(rows.count == 4, "\(table)")
        for row in rows { #expect(row.contains("/3)"), "\(row)") }
        #expect(!table.standardOutput.contains("MISMATCH"), "\(table)")
        #expect(table.standardError.contains("32×48 tiles"), "\(table)")
    }
}
