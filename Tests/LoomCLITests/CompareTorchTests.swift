import Foundation
import ProcessTestSupport
import Testing

/// `--compare-torch` on `loom bench attention` and `loom bench train`: PyTorch's columns when the
/// given Python imports torch, else a note with the fix and Loom's own table all the same.
@Suite struct CompareTorchTests {
    /// Whether `python3` on PATH imports torch (CI machines do not; a benchmarking machine may).
    static let torchImportable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test func attentionComparesOrSaysWhyNot() throws {
        let outcome = try LoomProcess.run(["bench", "attention", "--sizes", "64", "--head-dims", "16", "--heads", "2", "--repeat", "1",
                                           "--threads", "1", "--causal", "yes", "--compare-torch"], deadline: .seconds(300))
        try #require(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("checksum"), "Loom's own table must be there: \(outcome)")
        if Self.torchImportable {
            #expect(outcome.standardOutput.contains("torch GFLOP/s") && outcome.standardOutput.contains("vs torch"), "\(outcome)")
        } else {
            #expect(outcome.standardOutput.contains("no PyTorch comparison") && outcome.standardOutput.contains("pip install torch"), "\(outcome)")
            #expect(!outcome.standardOutput.contains("vs torch"), "\(outcome)")
        }
    }

    @Test func aMissingPythonIsNamedWithTheFix() throws {
        let outcome = try LoomProcess.run(["bench", "train", "--models", "1x8", "--context", "8", "--batch", "2", "--steps", "1",
                                           "--repeat", "1", "--compare-torch", "--python", "/nonexistent/python3"])
        try #require(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("--python /nonexistent/python3: no such executable"), "\(outcome)")
        #expect(outcome.standardOutput.contains("tokens/s"), "\(outcome)")
    }

    /// A peer script that is not there is named, with the variable that points Loom at it.
    @Test func aMissingPeerScriptIsNamed() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["LOOM_TORCH_PEER"] = "/nonexistent/torch_peer.py"
        let outcome = try LoomProcess.run(["bench", "attention", "--sizes", "32", "--head-dims", "16", "--heads", "1", "--repeat", "1",
                                           "--threads", "1", "--causal", "no", "--pass", "fwd", "--compare-torch"],
                                          environment: environment)
        try #require(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("/nonexistent/torch_peer.py") && outcome.standardOutput.contains("LOOM_TORCH_PEER"), "\(outcome)")
    }
}
