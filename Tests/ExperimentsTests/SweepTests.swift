import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Testing
import Tasks

/// Sweep expansion, overrides and extends on real files.
@Suite struct SweepTests {
    static func runs(_ text: String, overrides: [String] = [], extra: [(String, String)] = []) throws -> [ExperimentRun] {
        let directory = try TemporaryDirectory()
        for (name, contents) in extra { try contents.write(toFile: directory.path(name), atomically: true, encoding: .utf8) }
        try text.write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        let registry = TaskRegistry.builtIn(includingTestKinds: true)  // the seed test uses `fail`
        let experiment = try ExperimentLoader.load(directory.path("x.yaml"), overrides: overrides, registry: registry)
        return try experiment.expand(registry: registry)
    }

    @Test func listsSweepAsAProductInFileOrderAndRepeat() throws {
        let runs = try SweepTests.runs("name: x\ntask: gemm\nparams: {n: [1, 2, 3], threads: [1, 2]}\nrepeat: 2\n")
        #expect(runs.count == 12)
        #expect(runs.map { $0.params["n"] } == [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3].map { ParameterValue.int($0) })
        #expect(runs.map(\.repetition) == Array(repeating: [0, 1], count: 6).flatMap { $0 })
    }

    @Test func rowsComeFromACSVFileWithQuotesAndBlankLines() throws {
        let csv = "n, threads\n64, 1\n\n128,2\r\n\"256\",1\n"
        // Padding is trimmed, a blank line skipped, CRLF read, a quoted number still typed by the kind.
        let sized = try SweepTests.runs("name: x\ntask: gemm\nsweep: {rows: rows.csv}\n", extra: [("rows.csv", csv)])
        #expect(sized.map { $0.params["n"] } == [.int(64), .int(128), .int(256)])
        let runs = try SweepTests.runs("name: x\ntask: echo\nsweep: {rows: rows.csv}\n",
                                       extra: [("rows.csv", "value\nplain\n\"a, \"\"quoted\"\" cell\"\n  padded  \n")])
        #expect(runs.map { $0.params["value"] } == [.string("plain"), .string("a, \"quoted\" cell"), .string("padded")])
        let typed = try SweepTests.runs("name: x\ntask: gemm\nparams: {repeat: 2}\nsweep: {rows: rows.csv}\n",
                                        extra: [("rows.csv", "n,threads\n64,1\n128,2\n")])
        #expect(typed.map { [$0.params["n"]!, $0.params["threads"]!, $0.params["repeat"]!] }
                == [[.int(64), .int(1), .int(2)], [.int(128), .int(2), .int(2)]])
    }

    @Test func zipPairsListsAndExcludeDrops() throws {
        let zipped = try SweepTests.runs("name: x\ntask: gemm\nparams: {n: [1, 2, 3], threads: [4, 5, 6]}\nsweep: {mode: zip}\n")
        #expect(zipped.map { [$0.params["n"]!, $0.params["threads"]!] } == [[.int(1), .int(4)], [.int(2), .int(5)], [.int(3), .int(6)]])
        let excluded = try SweepTests.runs("name: x\ntask: gemm\nparams: {n: [1, 2], threads: [1, 2]}\nsweep: {exclude: [{n: 2, threads: 1}]}\n")
        #expect(excluded.count == 3 && !excluded.contains { $0.params["n"] == .int(2) && $0.params["threads"] == .int(1) })
    }

    @Test func rowsAndRandomSampling() throws {
        let rows = try SweepTests.runs("name: x\ntask: gemm\nparams: {threads: 2}\nsweep:\n  rows:\n    - {n: 64}\n    - {n: 128, threads: 1}\n")
        #expect(rows.map { [$0.params["n"]!, $0.params["threads"]!] } == [[.int(64), .int(2)], [.int(128), .int(1)]])
        let sampled = try SweepTests.runs("name: x\ntask: sleep\nparams: {seconds: {min: 0.5, max: 1.5}}\nsweep: {random: {n: 20, seed: 3}}\n")
        #expect(sampled.count == 20)
        let values = sampled.compactMap { $0.params["seconds"]?.number }
        #expect(values.allSatisfy { $0 >= 0.5 && $0 <= 1.5 } && Set(values).count == 20)
        let again = try SweepTests.runs("name: x\ntask: sleep\nparams: {seconds: {min: 0.5, max: 1.5}}\nsweep: {random: {n: 20, seed: 3}}\n")
        #expect(again.map { $0.params["seconds"] } == sampled.map { $0.params["seconds"] }, "the same seed samples the same runs")
    }

    @Test func overridesSetAndSweepParametersAndTopLevelKeys() throws {
        let runs = try SweepTests.runs("name: x\ntask: gemm\nparams: {n: 64, threads: 1}\n", overrides: ["n=[32,64]", "threads=2", "repeat=3"])
        #expect(runs.count == 6 && runs.allSatisfy { $0.params["threads"] == .int(2) })
        #expect { _ = try SweepTests.runs("name: x\ntask: gemm\n", overrides: ["nn=3"]) } throws: { "\($0)".contains("did you mean 'n'") }
        #expect { _ = try SweepTests.runs("name: x\ntask: gemm\n", overrides: ["oops"]) } throws: { "\($0)".contains("key=value") }
    }

    @Test func extendsMergesParamsKeyByKey() throws {
        let runs = try SweepTests.runs("extends: base.yaml\nname: child\nparams: {threads: [1, 2]}\n",
                                       extra: [("base.yaml", "name: base\ntask: gemm\nparams: {n: 96, threads: 4}\nrepeat: 2\n")])
        #expect(runs.count == 4 && runs.allSatisfy { $0.params["n"] == .int(96) })
        #expect(Set(runs.compactMap { $0.params["threads"] }) == [.int(1), .int(2)])
    }

    @Test func seedsFollowTheRepeatUnlessFixed() throws {
        let runs = try SweepTests.runs("name: x\ntask: fail\nparams: {probability: 0}\nseed: 10\nrepeat: 3\n")
        #expect(runs.map { $0.params["seed"] } == [.int(10), .int(11), .int(12)])
        let fixed = try SweepTests.runs("name: x\ntask: fail\nparams: {probability: 0, seed: 7}\nrepeat: 2\n")
        #expect(fixed.allSatisfy { $0.params["seed"] == .int(7) })
    }

    @Test func quotedScalarsStayStrings() throws {
        let runs = try SweepTests.runs("name: x\ntask: echo\nparams: {value: [\"007\", 7, yes]}\n")
        #expect(runs.map { $0.params["value"] } == [.string("007"), .string("7"), .string("yes")])
    }
}
