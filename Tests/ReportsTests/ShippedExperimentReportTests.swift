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

    /// The crossover and sensitivity maps (winner figures) on shortened sweeps: each cell names a
    /// schedule, and usp (groups of one node) beats the plain ring wherever both ran.
    @Test(.enabled(if: gnuplotIsInstalled))
    func theSimulatorCrossoverAndSensitivityMapsDraw() throws {
        let scratch = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let crossover = root.appendingPathComponent("experiments/simulator/crossover.yaml").path
        let ran = try LoomProcess.run(["run", crossover, "workers=[8,16]", "tokens=[16384,65536]", "--workers", "2", "--quiet"],
                                      in: scratch.url, deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        // 5 schedules × 3 clusters × 2 × 2, less Ulysses on 16 ranks (8 K/V heads).
        #expect(ran.standardOutput.contains("54 succeeded") && ran.standardOutput.contains("(figures: 1"), "\(ran)")
        let out = scratch.url.appendingPathComponent("reports/sim-crossover")
        #expect(try Data(contentsOf: out.appendingPathComponent("crossover.pdf")).starts(with: Array("%PDF".utf8)))
        let index = try String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)
        let cells = index.split(separator: "\n").filter { $0.hasPrefix("| 8xA100-nvlink |") || $0.hasPrefix("| 8xL20-pcie |") || $0.hasPrefix("| ib-fat-tree |") }
        #expect(cells.count == 12, "\(index)")
        #expect(cells.allSatisfy { !$0.contains("| ring |") }, "the plain causal ring never wins: \(cells)")
        let sensitivity = root.appendingPathComponent("experiments/simulator/sensitivity.yaml").path
        let perturbed = try LoomProcess.run(["run", sensitivity, "workers=[8]", "tokens=[4096]", "--workers", "2", "--quiet"],
                                            in: scratch.url, deadline: .seconds(300))
        try #require(perturbed.status == 0, "\(perturbed)")
        #expect(perturbed.standardOutput.contains("35 succeeded"), "\(perturbed)")
        let panels = try String(contentsOf: scratch.url.appendingPathComponent("reports/sim-sensitivity/sensitivity.gp"), encoding: .utf8)
        for value in ["none", "alpha-20%", "beta+20%", "compute+20%"] { #expect(panels.contains(value), "\(value)") }
    }

    /// The simulator's sweep of every schedule on the presets (`sim.run`): 45 simulated runs in
    /// about a second, its three figures drawn, the zigzag ring ahead of the plain causal ring.
    @Test(.enabled(if: gnuplotIsInstalled))
    func theSimulatorPresetsSweepRunsAndDraws() throws {
        let scratch = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("experiments/simulator/presets.yaml").path
        let ran = try LoomProcess.run(["run", file, "--workers", "2", "--quiet"], in: scratch.url, deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        #expect(ran.standardOutput.contains("45 succeeded") && ran.standardOutput.contains("(figures: 3"), "\(ran)")
        let data = try String(contentsOf: scratch.url.appendingPathComponent("reports/sim-presets/forward.dat"), encoding: .utf8)
        func largest(_ block: String) -> Double? {
            guard let range = data.range(of: block + "\n") else { return nil }
            return data[range.upperBound...].split(separator: "\n").prefix(3).last.flatMap { Double($0.split(separator: " ")[1]) }
        }
        let ring = try #require(largest("topology=8xA100-nvlink algorithm=ring")), zigzag = try #require(largest("topology=8xA100-nvlink algorithm=zigzag_ring"))
        #expect(zigzag < 0.7 * ring, "causal: the zigzag ring evens the work (\(zigzag) s against the ring's \(ring) s)")
    }

    /// The one-layer active-dormant report, shortened to 60 steps: the paper's points at 1k and
    /// 10k steps lie beyond the data, so they go into a note instead of stretching the x axis;
    /// ‖W_O v_BOS‖ and the other tokens' mean share one figure; an axis without `ylabel` takes
    /// the declared label and unit.
    @Test(.enabled(if: gnuplotIsInstalled))
    func theOneLayerActiveDormantReportIsPaperReady() throws {
        let scratch = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let file = root.appendingPathComponent("experiments/active-dormant/one-layer.yaml").path
        let ran = try LoomProcess.run(["run", file, "steps=60", "evaluate_every=20", "d_model=16", "context=24", "batch=4",
                                       "evaluation_batch=4", "--workers", "2", "--quiet"], in: scratch.url, deadline: .seconds(300))
        try #require(ran.status == 0, "\(ran)")
        #expect(ran.standardOutput.contains("2 succeeded"), "\(ran)")
        let out = scratch.url.appendingPathComponent("reports/active-dormant-one-layer")
        func script(_ name: String) throws -> String { try String(contentsOf: out.appendingPathComponent("\(name).gp"), encoding: .utf8) }

        let attention = try script("attention")
        let range = try #require(try NSRegularExpression(pattern: #"xmin = ([-\d.e]+); xmax = ([-\d.e]+)"#)
            .firstMatch(in: attention, range: NSRange(attention.startIndex..., in: attention)), "\(attention)")
        let upper = Double(attention[Range(range.range(at: 2), in: attention)!])!
        #expect(upper > 60 && upper < 100, "the x axis ends just past the data's last step, not at the paper's 10k: \(upper)")
        #expect(attention.contains("(1000, 0.78), (10000, 0.81) are not drawn"), "the paper's points beyond the data are named")
        #expect(ran.standardError.contains("warning: figure attention: Guo et al. 2024"), "and loom run says so: \(ran)")
        #expect(attention.contains("set key outside") && attention.contains("set ylabel 'attention on BOS, L0.H0'"))

        let drain = try script("value-drain")
        #expect(drain.contains("‖W_O v_BOS‖") && drain.contains("mean ‖W_O v‖ of other positions"), "both metrics, by label: \(drain)")
        let margin = try script("sink-logit-margin")
        #expect(margin.contains("set ylabel 'sink logit margin, L0.H0 (nats)'"), "the declared label and unit: \(margin)")

        let pdf = String(decoding: try Data(contentsOf: out.appendingPathComponent("attention.pdf")), as: UTF8.self)
        let box = try #require(try NSRegularExpression(pattern: #"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]"#)
            .firstMatch(in: pdf, range: NSRange(pdf.startIndex..., in: pdf)))
        #expect(abs(Double(pdf[Range(box.range(at: 1), in: pdf)!])! - 244.8) < 1, "one panel: a single column (3.4 in)")
    }
}
