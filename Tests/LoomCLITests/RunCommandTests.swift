import Foundation
import LoomTestSupport
import Testing

/// `loom run` as users run it: checks and expansion today; running needs the results store.
@Suite struct RunCommandTests {
    @Test func dryRunListsEveryRunOfTheQuickstart() throws {
        let outcome = try LoomProcess.run(["run", "experiments/quickstart.yaml", "--dry-run"],
                                          in: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("quickstart: 12 run(s) of gemm"), "\(outcome)")
    }

    @Test func overridesChangeTheExpansion() throws {
        let scratch = try TemporaryDirectory()
        try "name: x\ntask: gemm\nparams: {n: 64}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml"), "n=[32,48]", "threads=2", "--dry-run", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.standardOutput.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("\"n\":32") && lines[1].contains("\"n\":48") && lines[0].contains("\"threads\":2"), "\(outcome)")
    }

    @Test func aMalformedFileExitsTwoWithItsPlace() throws {
        let scratch = try TemporaryDirectory()
        try "name: x\ntask: gemm\nparams:\n  threds: 2\n".write(toFile: scratch.path("bad.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("bad.yaml"), "--dry-run"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("\(scratch.path("bad.yaml")):4:3: unknown key 'threds'") && outcome.standardError.contains("did you mean 'threads'"), "\(outcome)")
    }

    @Test func runningWithoutTheStoreSaysSoPlainly() throws {
        let scratch = try TemporaryDirectory()
        try "name: x\ntask: echo\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml")])
        #expect(outcome.status == 1 && outcome.standardError.contains("not built yet"), "\(outcome)")
    }
}
