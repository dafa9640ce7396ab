import Foundation
import ProcessTestSupport
import Testing

/// The experiment files the README's tour runs draw their figures (a file without `report:`
/// ends with "figures: 0", which the tour once did).
@Suite struct ShippedExperimentReportTests {
    @Test(.enabled(if: gnuplotIsInstalled))
    func ringVsTokenRingDrawsItsThreeFigures() throws {
        let scratch = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("experiments/ring-vs-tokenring.yaml").path
        // Short sequences and one repeat keep it to a few seconds; the figures stay the same.
        let ran = try LoomProcess.run(["run", file, "tokens=[128,256]", "repeat=1", "--workers", "2", "--quiet"], in: scratch.url,
                                      deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        #expect(ran.standardOutput.contains("14 succeeded")
                && ran.standardOutput.contains("report: reports/ring-vs-tokenring/index.html (figures: 3"), "\(ran)")
        let out = scratch.url.appendingPathComponent("reports/ring-vs-tokenring")
        for figure in ["throughput", "bytes", "wait"] {
            #expect(try Data(contentsOf: out.appendingPathComponent("\(figure).pdf")).starts(with: Array("%PDF".utf8)), "\(figure).pdf")
            let svg = try String(contentsOf: out.appendingPathComponent("\(figure).svg"), encoding: .utf8)
            #expect(svg.contains("<svg") && svg.contains("tokenring"), "\(figure).svg draws the TokenRing series")
        }
        // The plain ring runs without the mask only: its causal panel has no ring series.
        let data = try String(contentsOf: out.appendingPathComponent("throughput.dat"), encoding: .utf8)
        #expect(data.contains("causal=false algorithm=ring\n") && !data.contains("causal=true algorithm=ring\n")
                && data.contains("causal=true algorithm=zigzag_ring\n"), "\(data)")
    }
}
