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

    @Test func aSecondRunOfTheSameFileIsCachedAndForceRunsAgain() throws {
        let scratch = try TemporaryDirectory()
        try "name: echoes\ntask: echo\nparams: {value: [a, b, c, d, e]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "2", "--state", scratch.path("state")]
        let first = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(first.status == 0 && first.standardOutput.contains("5 succeeded, 0 cached, 0 failed of 5"), "\(first)")
        let second = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(second.status == 0 && second.standardOutput.contains("0 succeeded, 5 cached, 0 failed of 5"), "\(second)")
        let changed = try LoomProcess.run(arguments + ["value=[a,z]"], deadline: .seconds(120))
        #expect(changed.status == 0 && changed.standardOutput.contains("1 succeeded, 1 cached"), "only the new value runs: \(changed)")
        let forced = try LoomProcess.run(arguments + ["--force"], deadline: .seconds(120))
        #expect(forced.status == 0 && forced.standardOutput.contains("5 succeeded, 0 cached"), "\(forced)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("state/loom.db")))
    }

    @Test func failingRunsAreStoredAndExitOne() throws {
        let scratch = try TemporaryDirectory()
        try "name: failing\ntask: fail\nparams: {probability: 1}\nrepeat: 2\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1", "--state", scratch.path("state")],
                                          deadline: .seconds(120))
        #expect(outcome.status == 1 && outcome.standardOutput.contains("0 succeeded, 0 cached, 2 failed of 2"), "\(outcome)")
    }
}

/// `loom runs`, `show` and `export` read back what `loom run` stored.
@Suite struct StoreCommandTests {
    @Test func runsShowAndExportReadTheStore() throws {
        let scratch = try TemporaryDirectory()
        try "name: echoes\ntask: echo\nparams: {value: [a, b, c]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state")]
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1"] + state, deadline: .seconds(120))
        try #require(ran.status == 0, "\(ran)")
        let runs = try LoomProcess.run(["runs", "--json"] + state)
        let lines = runs.standardOutput.split(separator: "\n")
        #expect(runs.status == 0 && lines.count == 3 && lines.allSatisfy { $0.contains("\"status\":\"SUCCEEDED\"") }, "\(runs)")
        #expect(lines[1].contains("\"metrics\":{\"value\":\"b\"}"), "\(runs)")
        let shown = try LoomProcess.run(["show", "2"] + state)
        #expect(shown.status == 0 && shown.standardOutput.contains("metrics      value=b") && shown.standardOutput.contains("loom_version"), "\(shown)")
        let csv = try LoomProcess.run(["export", "--format", "csv"] + state)
        let rows = csv.standardOutput.split(separator: "\n")
        #expect(rows.first == "id,experiment,index,repetition,status,attempt,value,metric.value" && rows.count == 4, "\(csv)")
        let missing = try LoomProcess.run(["runs", "--state", scratch.path("nowhere")])
        #expect(missing.status == 2 && missing.standardError.contains("no results store"), "\(missing)")
        let badStatus = try LoomProcess.run(["runs", "--status", "done"] + state)
        #expect(badStatus.status == 2, "\(badStatus)")
    }
}
