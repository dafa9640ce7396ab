import Foundation
import ProcessTestSupport
import Testing

/// `loom train` as users run it: bad settings, and kill -9 then resume with the same curve.
@Suite(.serialized) struct TrainCommandTests {
    static let small = ["train", "--context", "16", "--batch", "4", "--d-model", "16", "--heads", "2", "--lr", "1e-3",
                        "--evaluate-every", "5", "--evaluation-batch", "4", "--threads", "1", "--json"]

    /// The JSON lines of a run, by step.
    static func curve(_ output: String) -> [Int: String] {
        var lines: [Int: String] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("{\"step\":") {
            let step = Int(line.dropFirst(8).prefix { $0.isNumber })!
            lines[step] = String(line).replacingOccurrences(of: #""tokens_per_s":[^,}]*"#, with: "", options: .regularExpression)
        }
        return lines
    }

    @Test func badSettingsAreNamedBeforeTraining() throws {
        for (arguments, phrase) in [(["--heads", "3"], "must divide d_model"), (["--optimizer", "adagrad"], "unknown optimizer"),
                                    (["--d-model", "-8"], "d_model must be positive"), (["--steps", "ten"], "--steps must be int"),
                                    (["--checkpoint-every", "7"], "multiple of evaluate_every"), (["--attention", "linear"], "attention must be one of"),
                                    (["--layer-attention", "none,softmax"], "names 2 layer(s) but layers is 1"),
                                    (["--layers", "2", "--layer-ffn", "mlp,big"], "layer 1 is 'big'"),
                                    // Sizes past Int's range once wrapped in the unchecked arithmetic and crashed.
                                    (["--batch", "\(Int.max)"], "rows is more than Loom's 2^24"),
                                    (["--evaluation-batch", "\(Int.max)"], "rows is more than Loom's 2^24"),
                                    (["--context", "\(Int.max)"], "context must be at most 2^24"),
                                    (["--d-model", "\(Int.max)"], "d_model must be at most 65536"),
                                    (["--ffn-hidden", "\(Int.max)"], "ffn_hidden must be at most 2^20"),
                                    (["--steps", "\(Int.max)"], "must be in 1…10000000"),
                                    (["--threads", "100000"], "must be in 0…256")] {
            let outcome = try LoomProcess.run(["train"] + arguments)
            #expect(outcome.status == 2 && outcome.standardError.contains(phrase), "\(arguments): \(outcome)")
            #expect(!outcome.standardOutput.contains("step"), "nothing trained")
        }
    }

    /// Per-layer switches: a layer without attention has no attention probes.
    @Test func layersCanBeSwitchedOneByOne() throws {
        let outcome = try LoomProcess.run(Self.small + ["--layers", "2", "--layer-attention", "none,softmax", "--steps", "5"],
                                          deadline: .seconds(120))
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("L1.H0.attn_sink") && !outcome.standardOutput.contains("L0.H0.attn_sink"),
                "\(outcome.standardOutput.prefix(2000))")
    }

    @Test func killNineThenResumeGivesTheSameLossesBitForBit() throws {
        let scratch = try TemporaryDirectory()
        let whole = try LoomProcess.run(Self.small + ["--steps", "200"], deadline: .seconds(120))
        try #require(whole.status == 0, "\(whole)")
        let expected = Self.curve(whole.standardOutput)
        #expect(expected.keys.sorted() == Array(stride(from: 0, through: 200, by: 5)))

        let directory = scratch.path("ckpt")
        let arguments = Self.small + ["--steps", "200", "--checkpoint-dir", directory, "--checkpoint-every", "10"]
        let process = try LoomProcess.start(arguments)
        // Kill it once a checkpoint past step 20 exists, mid-run.
        let end = ContinuousClock.now + .seconds(60)
        func savedStep() -> Int {
            guard let data = FileManager.default.contents(atPath: directory + "/checkpoint.json"),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return 0 }
            return object["step"] as? Int ?? 0
        }
        while savedStep() < 20 && process.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.005) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let resumedAt = savedStep()
        try #require(resumedAt >= 20 && resumedAt < 200, "killed mid-run (checkpoint at \(resumedAt))")
        let resumed = try LoomProcess.run(arguments, deadline: .seconds(120))
        try #require(resumed.status == 0, "\(resumed)")
        #expect(resumed.standardError.contains("resuming from step \(resumedAt)"), "\(resumed)")
        let after = Self.curve(resumed.standardOutput)
        #expect(after.keys.min() == resumedAt + 5 && after.keys.max() == 200)
        for (step, line) in after { #expect(line == expected[step], "step \(step): \(line) against \(expected[step] ?? "nothing")") }
    }
}
