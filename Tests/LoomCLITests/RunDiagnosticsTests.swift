import Foundation
import ProcessTestSupport
import Testing

/// `loom run` refuses bad input before anything runs, with every problem and its fix (exit 2).
@Suite struct RunDiagnosticsTests {
    static func run(_ file: String, _ arguments: [String]) throws -> (LoomProcess.Outcome, String) {
        let scratch = try TemporaryDirectory()
        try file.write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml")] + arguments, deadline: .seconds(60))
        return (outcome, outcome.standardError.replacingOccurrences(of: scratch.path("x.yaml"), with: "x.yaml"))
    }

    @Test func anOptionThatLooksLikeAnOverrideSaysHowToWriteOne() throws {
        let (outcome, error) = try RunDiagnosticsTests.run("name: x\ntask: steps\n", ["--steps=100", "--dry-run"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(error.contains("unknown option '--steps' for 'loom run'; to set a parameter or key, write an override without dashes after the file: 'steps=100'"), "\(outcome)")
    }

    @Test func everyProblemOfTheFileIsListedWithItsLine() throws {
        let file = "name: x\ntask: attention.sharded\nresources: {gang: 2}\nparams:\n  tokens: 64\n  causal: yes\n  algorithm: zigzag\n  head: 8\n"
        let (outcome, error) = try RunDiagnosticsTests.run(file, ["--dry-run"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(error.hasPrefix("error: 3 problems:\nx.yaml:6:11: parameter 'causal' must be bool; got 'yes'; use true or false"), "\(outcome)")
        #expect(error.contains("\nx.yaml:7:14: parameter 'algorithm' must be one of ring, zigzag_ring, ulysses, tokenring, usp; got 'zigzag'; did you mean 'zigzag_ring'?\n"), "\(outcome)")
        #expect(error.contains("\nx.yaml:8:3: unknown key 'head' in params of task 'attention.sharded'; did you mean 'heads'?"), "\(outcome)")
    }

    @Test func aNegativeOverrideIsRefusedBeforeAnyRunStarts() throws {
        let (outcome, error) = try RunDiagnosticsTests.run("name: x\ntask: sleep\n# seconds below\nparams: {seconds: 1}\n",
                                                           ["seconds=-1", "--dry-run"])
        #expect(outcome.status == 2 && outcome.standardOutput.isEmpty, "\(outcome)")
        #expect(error.hasPrefix("error: override 'seconds=-1': parameter 'seconds' must be in 0…31536000; got -1.0\n"), "\(outcome)")
    }

    /// A billion runs used to be built (and the process aborted out of memory) before anything was said.
    @Test func aBillionRunSweepIsRefusedQuickly() throws {
        let thousand = "[" + (1...1000).map(String.init).joined(separator: ",") + "]"
        let (outcome, error) = try RunDiagnosticsTests.run(
            "name: x\ntask: gemm\nparams:\n  n: \(thousand)\n  threads: \(thousand)\n  repeat: \(thousand)\n", ["--dry-run"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(error.hasPrefix("error: x.yaml:4:3: the sweep makes 1000000000 combinations"), "\(outcome)")
    }
}
