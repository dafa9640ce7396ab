import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// Sweeps are counted before they are built: one too large for memory is refused at its line.
@Suite(.timeLimit(.minutes(1))) struct SweepBoundsTests {
    /// Loads and expands `text`; the error, if any, and how long it took.
    static func expand(_ text: String, overrides: [String] = []) throws -> (runs: [ExperimentRun]?, error: String?, seconds: Double) {
        let directory = try TemporaryDirectory()
        try text.write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        do {
            let experiment = try ExperimentLoader.load(directory.path("x.yaml"), overrides: overrides, registry: TaskRegistry.builtIn)
            let runs = try experiment.expand(registry: TaskRegistry.builtIn)
            return (runs, nil, seconds(since: start))
        } catch {
            return (nil, "\(error)".replacingOccurrences(of: directory.path("x.yaml"), with: "x.yaml"), seconds(since: start))
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - start).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }

    static let thousand = "[" + (1...1000).map(String.init).joined(separator: ", ") + "]"

    /// (case, file, the error's place and phrase). Each would take gigabytes if built.
    static let tooLarge: [(String, String, String)] = [
        ("repeat", "name: x\ntask: gemm\nrepeat: 1000000000\n", "x.yaml:3:9: the sweep makes 1000000000 runs"),
        ("product", "name: x\ntask: gemm\nparams:\n  n: \(thousand)\n  threads: \(thousand)\n  repeat: \(thousand)\n",
         "x.yaml:4:3: the sweep makes 1000000000 combinations (n: 1000 values × threads: 1000 values × repeat: 1000 values)"),
        ("random", "name: x\ntask: sleep\nparams: {seconds: {min: 0, max: 1}}\nsweep: {random: {n: 1000000000}}\n",
         "x.yaml:4:21: sweep.random.n asks for 1000000000 runs"),
        ("random-exponent", "name: x\ntask: sleep\nparams: {seconds: {min: 0, max: 1}}\nsweep: {random: {n: 1e9}}\n",
         "x.yaml:4:21: sweep.random.n asks for 1000000000 runs"),
        ("overflow", "name: x\ntask: gemm\nparams:\n  n: \(thousand)\n  threads: \(thousand)\nrepeat: 9000000000000000000\n",
         "x.yaml:6:9: the sweep makes more than 9223372036854775807 runs"),
    ]

    @Test(arguments: tooLarge)
    func aSweepTooLargeToBuildIsRefusedAtItsLineQuickly(_ item: (String, String, String)) throws {
        let outcome = try SweepBoundsTests.expand(item.1)
        #expect(outcome.error?.hasPrefix(item.2) == true, "\(outcome.error ?? "no error")")
        #expect(outcome.error?.contains("more than max_runs = 1000000") == true && outcome.error?.contains("max_runs=N") == true,
                "the error says how to raise the limit: \(outcome.error ?? "no error")")
        // Counting is arithmetic; 5 s is generous for a debug build (measured: well under 0.1 s).
        #expect(outcome.seconds < 5, "took \(outcome.seconds) s")
    }

    @Test func theLimitIsRaisedInTheFileOrByAnOverride() throws {
        let file = "name: x\ntask: echo\nparams: {value: [a, b, c, d]}\nrepeat: 3\nmax_runs: 10\n"
        #expect(try SweepBoundsTests.expand(file).error?.hasPrefix("x.yaml:4:9: the sweep makes 12 runs (4 combinations × repeat 3), more than max_runs = 10") == true)
        #expect(try SweepBoundsTests.expand(file, overrides: ["max_runs=12"]).runs?.count == 12)
        #expect(try SweepBoundsTests.expand("name: x\ntask: echo\nmax_runs: 20000000\n").error?
            .hasPrefix("x.yaml:3:11: 'max_runs' must be at most 10000000") == true)
    }

    @Test func aLongListWithinTheLimitStillExpands() throws {
        let values = "[" + (1...5000).map(String.init).joined(separator: ",") + "]"
        let outcome = try SweepBoundsTests.expand("name: x\ntask: echo\nparams: {value: \(values)}\n")
        #expect(outcome.runs?.count == 5000 && outcome.runs?.last?.params["value"] == .string("5000"), "\(outcome.error ?? "")")
    }

    /// Sampling without replacement from a large pool: removing from an array was O(pool) per
    /// draw, so 60,000 of 60,000 took minutes.
    @Test func sampledRunsFromALargePoolAreDrawnQuickly() throws {
        let big = "name: x\ntask: gemm\nparams: {n: [" + (1...300).map(String.init).joined(separator: ",") + "], repeat: ["
            + (1...200).map(String.init).joined(separator: ",") + "]}\nsweep: {random: {n: 60000, seed: 1}}\n"
        let sampled = try SweepBoundsTests.expand(big)
        #expect(sampled.runs?.count == 60000, "\(sampled.error ?? "")")
        #expect(Set(sampled.runs?.map { [$0.params["n"]!, $0.params["repeat"]!] } ?? []).count == 60000, "no combination twice")
        #expect(sampled.seconds < 30, "took \(sampled.seconds) s")      // measured under 2 s on a debug build
    }
}
