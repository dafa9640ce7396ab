import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// Malformed experiment files: each gives one clear error naming file:line:column.
@Suite struct MalformedFileTests {
    /// (file name, contents, the expected line (0: any), a phrase the message must hold)
    static let corpus: [(String, String, Int, String)] = [
        ("bad-yaml", "name: x\ntask: [gemm\n", 0, "YAML"),
        ("tab-indent", "name: x\ntask: gemm\nparams:\n\tn: 3\n", 4, "YAML"),
        ("unclosed-quote", "name: \"x\ntask: gemm\n", 0, "YAML"),
        ("not-a-mapping", "- a\n- b\n", 1, "mapping"),
        ("scalar-document", "just text\n", 1, "mapping"),
        ("empty", "", 1, "empty"),
        ("comments-only", "# nothing here\n", 1, "empty"),
        ("two-documents", "name: x\ntask: gemm\n---\nname: y\n", 3, "second YAML document"),
        ("unknown-top-key", "name: x\ntask: gemm\nparms: {n: 3}\n", 3, "did you mean 'params'"),
        ("unknown-param", "name: x\ntask: gemm\nparams:\n  threds: 2\n", 4, "did you mean 'threads'"),
        ("unknown-task", "name: x\ntask: gem\n", 2, "did you mean 'gemm'"),
        ("missing-task", "name: x\n", 1, "needs a 'task'"),
        ("missing-name", "task: gemm\n", 1, "needs a 'name'"),
        ("bad-name", "name: a/b\ntask: gemm\n", 1, "letters, digits"),
        ("wrong-type", "name: x\ntask: gemm\nparams:\n  n: big\n", 4, "must be int"),
        ("wrong-type-in-list", "name: x\ntask: gemm\nparams:\n  n: [128, large]\n", 4, "must be int"),
        ("empty-sweep-list", "name: x\ntask: gemm\nparams:\n  n: []\n", 4, "empty list"),
        ("zip-unequal", "name: x\ntask: gemm\nparams:\n  n: [1, 2]\n  threads: [1, 2, 3]\nsweep: {mode: zip}\n", 5, "equal length"),
        ("bad-mode", "name: x\ntask: gemm\nsweep: {mode: cartesian}\n", 3, "not one of product, zip"),
        ("unknown-sweep-key", "name: x\ntask: gemm\nsweep: {modes: zip}\n", 3, "did you mean 'mode'"),
        ("exclude-all", "name: x\ntask: gemm\nparams: {n: [1]}\nsweep:\n  exclude: [{n: 1}]\n", 0, "leaves no run"),
        ("exclude-unknown", "name: x\ntask: gemm\nsweep:\n  exclude: [{m: 1}]\n", 4, "unknown parameter 'm'"),
        ("rows-empty", "name: x\ntask: gemm\nsweep: {rows: []}\n", 3, "non-empty list"),
        ("repeat-zero", "name: x\ntask: gemm\nrepeat: 0\n", 3, "at least 1"),
        ("repeat-text", "name: x\ntask: gemm\nrepeat: twice\n", 3, "whole number"),
        ("duplicate-key", "name: x\ntask: gemm\nname: y\n", 3, "appears twice"),
        ("alias", "name: &n x\ntask: gemm\n", 1, "anchors"),
        ("nested-key", "name: x\ntask: gemm\nparams:\n  ? [a]\n  : 1\n", 0, "plain word"),
        ("params-list", "name: x\ntask: gemm\nparams: [n, 3]\n", 3, "must be a mapping"),
        ("range-without-random", "name: x\ntask: gemm\nparams:\n  n: {min: 1, max: 9}\n", 4, "needs 'sweep: {random"),
        ("range-past-2^53", "name: x\ntask: gemm\nparams:\n  n: {min: 1, max: 9223372036854775807}\nsweep: {random: {n: 5}}\n", 4, "within ±2^53"),
        ("range-reversed", "name: x\ntask: gemm\nparams:\n  n: {min: 9, max: 1}\n", 4, "min ≤ max"),
        ("gang-missing", "name: x\ntask: gang.barrier\n", 2, "runs as a gang"),
        ("test-only-kind", "name: x\ntask: append\nparams: {path: /tmp/x}\n", 2, "'append' is a test-only kind"),
        ("gang-on-single", "name: x\ntask: gemm\nresources: {gang: 2}\n", 3, "runs on one worker"),
        ("resources-typo", "name: x\ntask: gemm\nresources: {wokers: 2}\n", 3, "did you mean 'workers'"),
        ("retries-huge", "name: x\ntask: gemm\nresources: {retries: 9223372036854775807}\n", 3, "'resources.retries' must be at most 999"),
        ("gang-huge", "name: x\ntask: gang.barrier\nresources: {gang: 100000}\n", 3, "'resources.gang' must be at most 65536"),
        ("timeout-huge", "name: x\ntask: gemm\nresources: {timeout: 1e30}\n", 3, "at most 30 days"),
        ("sleep-huge", "name: x\ntask: sleep\nparams: {seconds: 1e300}\n", 3, "must be in 0…31536000"),
        ("kind-check", "name: x\ntask: gemm\nparams: {n: 0}\n", 0, "gemm needs 1 ≤ n"),
        ("binary", "name: x\u{0}\u{1}\u{2}\ntask: gemm\n", 1, "binary"),
        ("deep", "name: x\ntask: gemm\nreport: " + String(repeating: "[", count: 80) + String(repeating: "]", count: 80) + "\n", 3, "deeper than"),
    ]

    @Test(arguments: corpus)
    func eachMalformedFileGivesOneClearError(_ item: (String, String, Int, String)) throws {
        let directory = try TemporaryDirectory()
        let path = directory.path(item.0 + ".yaml")
        try Data(item.1.utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            let experiment = try ExperimentLoader.load(path, registry: TaskRegistry.builtIn)
            _ = try experiment.expand(registry: TaskRegistry.builtIn)
        } throws: { error in
            guard let error = error as? ExperimentError else { return false }
            let placed = error.description.hasPrefix("\(path):\(error.line):\(error.column): ")
            let lineMatches = item.2 == 0 || error.line == item.2
            return placed && lineMatches && error.message.contains(item.3)
        }
    }

    /// `sweep.rows: file.csv` with a bad CSV: the error names the CSV's own line and column.
    static let csvCorpus: [(String, String, Int, Int, String)] = [
        ("ragged", "n,threads\n64,1\n128\n", 3, 1, "1 cell(s) but the header names 2"),
        ("unknown-column", "n,thread\n64,1\n", 2, 4, "did you mean 'threads'"),
        ("wrong-type", "n,threads\n64,one\n", 2, 4, "must be int"),
        ("unclosed-quote", "n,threads\n64,\"1\n", 2, 4, "never closed"),
        ("header-only", "n,threads\n", 1, 1, "no rows"),
        ("empty-header-cell", "n,,threads\n1,2,3\n", 1, 3, "empty column name"),
        ("empty", "", 1, 1, "no header"),
    ]

    @Test(arguments: csvCorpus)
    func eachMalformedRowsFileNamesItsCell(_ item: (String, String, Int, Int, String)) throws {
        let directory = try TemporaryDirectory()
        try Data(item.1.utf8).write(to: URL(fileURLWithPath: directory.path("rows.csv")))
        try "name: x\ntask: gemm\nsweep: {rows: rows.csv}\n".write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        #expect {
            _ = try ExperimentLoader.load(directory.path("x.yaml"), registry: TaskRegistry.builtIn).expand(registry: TaskRegistry.builtIn)
        } throws: { error in
            guard let error = error as? ExperimentError else { return false }
            return error.file == directory.path("rows.csv") && error.line == item.2 && error.column == item.3
                && error.message.contains(item.4)
        }
    }

    @Test func aMissingRowsFileIsNamedWhereTheExperimentAsksForIt() throws {
        let directory = try TemporaryDirectory()
        try "name: x\ntask: gemm\nsweep:\n  rows: nowhere.csv\n".write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        #expect { _ = try ExperimentLoader.load(directory.path("x.yaml"), registry: TaskRegistry.builtIn) } throws: { error in
            "\(error)".hasPrefix(directory.path("x.yaml") + ":4:9: sweep.rows names") && "\(error)".contains("cannot be read")
        }
    }

    @Test func hugeAndMissingAndCircularFilesAreNamed() throws {
        let directory = try TemporaryDirectory()
        let huge = directory.path("huge.yaml")
        try Data(("name: x\ntask: gemm\ndescription: " + String(repeating: "a", count: 2 << 20) + "\n").utf8).write(to: URL(fileURLWithPath: huge))
        #expect { _ = try ExperimentLoader.load(huge, registry: TaskRegistry.builtIn) } throws: { "\($0)".contains("limited to") }
        #expect { _ = try ExperimentLoader.load(directory.path("missing.yaml"), registry: TaskRegistry.builtIn) } throws: { "\($0)".contains("no such file") }
        try "extends: b.yaml\nname: a\ntask: gemm\n".write(toFile: directory.path("a.yaml"), atomically: true, encoding: .utf8)
        try "extends: a.yaml\nname: b\n".write(toFile: directory.path("b.yaml"), atomically: true, encoding: .utf8)
        #expect { _ = try ExperimentLoader.load(directory.path("a.yaml"), registry: TaskRegistry.builtIn) } throws: {
            "\($0)".contains("circular 'extends': a.yaml → b.yaml → a.yaml")
        }
        #expect { _ = try ExperimentLoader.load(directory.path(""), registry: TaskRegistry.builtIn) } throws: { "\($0)".contains("directory") }
    }
}
