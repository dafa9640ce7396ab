import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// `loom runs` as a table, `loom show`'s elapsed time and curves, `loom export` with curves and
/// awkward text, on a store the real `loom run` fills.
@Suite struct StoreReadingTests {
    /// A store with two `steps` runs (curves of 2 and 3 points) and echo runs of awkward text.
    static func makeStore(_ scratch: TemporaryDirectory) throws -> [String] {
        try "name: stepping\ntask: steps\nparams: {steps: [2, 3], seconds: 0}\n"
            .write(toFile: scratch.path("steps.yaml"), atomically: true, encoding: .utf8)
        try "name: echoing\ntask: echo\nparams:\n  value: [\"a,b\", \"say \\\"hi\\\"\", \"two\\nlines\", \"=1+2\", \"-3.5\"]\n"
            .write(toFile: scratch.path("echo.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state")]
        for file in ["steps.yaml", "echo.yaml"] {
            let ran = try LoomProcess.run(["run", scratch.path(file), "--workers", "2", "--quiet", "--no-report"] + state,
                                          in: URL(fileURLWithPath: scratch.path("")), deadline: .seconds(120))
            try #require(ran.status == 0, "\(ran)")
        }
        return state
    }

    @Test func runsPrintsATableOfWhatVaries() throws {
        let scratch = try TemporaryDirectory()
        let state = try Self.makeStore(scratch)
        let table = try LoomProcess.run(["runs", "--experiment", "stepping"] + state)
        let lines = table.standardOutput.split(separator: "\n").map(String.init)
        #expect(table.status == 0 && lines.count == 3, "\(table)")
        // steps varies (a parameter), seconds does not; the kind's metrics follow.
        #expect(lines[0].hasPrefix("id  status     steps  metric.steps  value  duration"), "\(table)")
        #expect(lines[2].contains("SUCCEEDED") && lines[2].contains("3") && !lines[0].contains("seconds"), "\(table)")
        let chosen = try LoomProcess.run(["runs", "--columns", "status,seconds,param.steps"] + state)
        #expect(chosen.standardOutput.split(separator: "\n").first == "status     seconds  steps", "\(chosen)")
        let misspelt = try LoomProcess.run(["runs", "--columns", "id,stauts"] + state)
        #expect(misspelt.status == 2 && misspelt.standardError.contains("unknown column 'stauts'")
                && misspelt.standardError.contains("did you mean 'status'"), "\(misspelt)")
        let json = try LoomProcess.run(["runs", "--json", "--experiment", "stepping"] + state)
        #expect(json.standardOutput.split(separator: "\n").allSatisfy { $0.contains("\"succeeded\":true") && $0.contains("\"params\":{") },
                "\(json)")
    }

    @Test func aNarrowTerminalCutsCellsWithAnEllipsis() throws {
        let scratch = try TemporaryDirectory()
        let state = try Self.makeStore(scratch)
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "40"
        let table = try LoomProcess.run(["runs", "--columns", "id,status,experiment,cache_key,duration"] + state, environment: environment)
        let lines = table.standardOutput.split(separator: "\n")
        #expect(table.status == 0 && lines.count == 8, "\(table)")
        #expect(lines.allSatisfy { $0.count <= 40 } && lines.contains { $0.contains("…") }, "\(table)")
        #expect(lines.dropFirst().allSatisfy { $0.contains("SUCCEEDED") }, "status is never cut: \(table)")
    }

    @Test func showGivesElapsedTimeAndACurveSummary() throws {
        let scratch = try TemporaryDirectory()
        let state = try Self.makeStore(scratch)
        let shown = try LoomProcess.run(["show", "2"] + state)
        let lines = shown.standardOutput.split(separator: "\n").map(String.init)
        #expect(shown.status == 0 && lines.contains { $0.hasPrefix("elapsed      ") && $0.contains("s (started") }, "\(shown)")
        let curve = lines.first { $0.hasPrefix("  value ") }?.split(separator: " ").map(String.init)
        #expect(curve == ["value", "3", "1–3", "1", "3", "1", "3"], "points, steps, first, last, min, max: \(shown)")
        let json = try LoomProcess.run(["show", "2", "--json"] + state)
        #expect(json.standardOutput.contains("\"curves\":{\"value\":{\"points\":3,\"first_step\":1,\"last_step\":3,\"first\":1.0,\"last\":3.0"),
                "\(json)")
    }

    @Test func exportWritesCurvesSuccessAndSafeCSV() throws {
        let scratch = try TemporaryDirectory()
        let state = try Self.makeStore(scratch)
        let curves = try LoomProcess.run(["export", "--format", "csv", "--curves"] + state)
        #expect(curves.standardOutput == "run,step,metric,value\n1,1,value,1.0\n1,2,value,2.0\n2,1,value,1.0\n2,2,value,2.0\n2,3,value,3.0\n",
                "\(curves)")
        let csv = try LoomProcess.run(["export", "--format", "csv", "--experiment", "echoing"] + state)
        #expect(csv.status == 0, "\(csv)")
        let text = csv.standardOutput
        #expect(text.contains(",SUCCEEDED,true,1,0,,"), "succeeded as true, not 1: \(text)")
        for cell in ["\"a,b\",\"a,b\"\n", "\"say \"\"hi\"\"\",\"say \"\"hi\"\"\"\n", "\"two\nlines\",\"two\nlines\"\n", ",'=1+2,'=1+2\n",
                     ",-3.5,-3.5\n"] {
            #expect(text.contains(cell), "expected \(cell.debugDescription) in \(text)")
        }
        let jsonl = try LoomProcess.run(["export", "--format", "jsonl", "--curves", "--experiment", "stepping"] + state)
        #expect(jsonl.standardOutput.split(separator: "\n").first == "{\"run\":1,\"step\":1,\"metric\":\"value\",\"value\":1.0}", "\(jsonl)")
    }

    @Test func escapeSequencesInValuesNeverReachTheTerminal() throws {
        let scratch = try TemporaryDirectory()
        try "name: escapes\ntask: echo\nparams:\n  value: [\"\\e]0;retitled\\a\\e[31mred\", plain]\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state")]
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1", "--quiet", "--no-report"] + state,
                                      in: URL(fileURLWithPath: scratch.path("")), deadline: .seconds(120))
        try #require(ran.status == 0, "\(ran)")
        let table = try LoomProcess.run(["runs"] + state)
        let shown = try LoomProcess.run(["show", "1"] + state)
        for outcome in [table, shown] {
            #expect(outcome.status == 0 && !outcome.standardOutput.contains("\u{1B}") && !outcome.standardOutput.contains("\u{07}")
                    && outcome.standardOutput.contains("\u{FFFD}]0;retitled\u{FFFD}\u{FFFD}[31mred"), "\(outcome)")
        }
    }
}
