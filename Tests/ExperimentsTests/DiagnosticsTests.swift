import Cluster
import Experiments
import Foundation
import ProcessTestSupport
import Testing

/// Errors a person can act on: every problem of a file at once, overrides named as such, values
/// checked against what the kind accepts, with the fix.
@Suite struct DiagnosticsTests {
    /// The error of loading and expanding `text` (with `extra` files beside it), the directory's
    /// path replaced by `DIR`.
    static func error(_ text: String, overrides: [String] = [], extra: [(String, String)] = []) throws -> String? {
        let directory = try TemporaryDirectory()
        for (name, contents) in extra { try contents.write(toFile: directory.path(name), atomically: true, encoding: .utf8) }
        try text.write(toFile: directory.path("x.yaml"), atomically: true, encoding: .utf8)
        do {
            let registry = TaskRegistry.builtIn(includingTestKinds: true)    // `fail` declares a range
            _ = try ExperimentLoader.load(directory.path("x.yaml"), overrides: overrides, registry: registry).expand(registry: registry)
            return nil
        } catch {
            return "\(error)".replacingOccurrences(of: directory.path(""), with: "DIR")
        }
    }

    @Test func threeMistakesAreReportedTogetherInLineOrder() throws {
        let text = """
            name: x
            task: gemm
            params:
              n: big
            repeat: twice
            resourses: {workers: 2}

            """
        let error = try #require(try DiagnosticsTests.error(text))
        let lines = error.split(separator: "\n").map(String.init)
        try #require(lines.count == 4, "a count, then one line per problem: \(error)")
        #expect(lines[0] == "3 problems:")
        #expect(lines[1].hasPrefix("DIR/x.yaml:4:6: parameter 'n' must be int; got 'big'"), "\(error)")
        #expect(lines[2].hasPrefix("DIR/x.yaml:5:9: 'repeat' must be a whole number; got 'twice'"), "\(error)")
        #expect(lines[3].hasPrefix("DIR/x.yaml:6:1: unknown key 'resourses' in the experiment; did you mean 'resources'?"), "\(error)")
    }

    @Test func aFileOfManyMistakesStopsAtAReadableNumber() throws {
        let text = "name: x\ntask: gemm\nparams:\n" + (1...500).map { "  k\($0): 1\n" }.joined()
        let error = try #require(try DiagnosticsTests.error(text))
        let lines = error.split(separator: "\n")
        try #require(lines.count == 52, "a count, 50 problems and where it stopped: \(error)")
        #expect(lines.last == "DIR/x.yaml: stopped after 50 problems; fix these and check the file again")
        #expect(lines[1].hasPrefix("DIR/x.yaml:4:3: unknown key 'k1'"))
    }

    /// A syntax error ends libyaml's reading, so it alone is reported.
    @Test func aSyntaxErrorIsTheOnlyProblemReported() throws {
        let error = try #require(try DiagnosticsTests.error("name: x\ntask: [gemm\nrepeat: twice\n"))
        #expect(!error.contains("\n") && error.contains("YAML"), "\(error)")
    }

    /// (file, the tab's place): libyaml calls the first a character that "cannot start any token".
    @Test(arguments: [("name: x\ntask: gemm\nparams:\n\tn: 3\n", "4:1"), ("name: x\ntask: gemm\nparams:\n  n: 3\n \tthreads: 2\n", "5:2")])
    func aTabInIndentationIsNamed(_ item: (String, String)) throws {
        let error = try #require(try DiagnosticsTests.error(item.0))
        #expect(error == "DIR/x.yaml:\(item.1): YAML: tabs are not allowed for indentation in YAML; indent with spaces")
    }

    /// (override, the whole expected error)
    static let overrides: [(String, String)] = [
        ("n=abc", "override 'n=abc': parameter 'n' must be int; got 'abc'"),
        ("steps=100", "override 'steps=100': unknown key 'steps' in params of task 'gemm' (it takes: n, threads, repeat)"),
        ("extends=base.yaml", "override 'extends=base.yaml': 'extends' cannot be overridden; write 'extends: PATH' in the file, or run the base file with overrides"),
        ("n=[1,", "override 'n=[1,': the value is not YAML: YAML: while parsing a flow node: did not find expected node content"),
        ("n=", "override 'n=': give a value after '=' (e.g. n=4 or n=[1,2])"),
        ("sweep..mode=zip", "override 'sweep..mode=zip': 'sweep..mode' has an empty part; write a key such as steps or sweep.mode"),
    ]

    @Test(arguments: overrides)
    func anOverrideErrorNamesTheOverride(_ item: (String, String)) throws {
        // The file's own key for n is on line 3: the error must not point there, nor at 0:0.
        let error = try DiagnosticsTests.error("name: x\ntask: gemm\nparams:\n  n: 64 # the size\n", overrides: [item.0],
                                               extra: [("base.yaml", "name: b\ntask: gemm\nparams: {threads: 4}\n")])
        #expect(error == item.1)
    }

    @Test func extendsCannotBeOverriddenSilently() throws {
        // The override names a base that would change n; it must not be ignored as it was.
        let error = try DiagnosticsTests.error("name: x\ntask: gemm\n", overrides: ["extends=base.yaml"],
                                               extra: [("base.yaml", "name: b\ntask: gemm\nparams: {n: 0}\n")])
        #expect(error?.contains("'extends' cannot be overridden") == true, "\(error ?? "accepted")")
    }

    @Test func aProblemInAnExtendedBaseNamesTheBase() throws {
        let error = try DiagnosticsTests.error("extends: base.yaml\nname: x\n",
                                               extra: [("base.yaml", "name: b\ntask: gemm\nparams:\n  threds: 4\n")])
        #expect(error?.hasPrefix("DIR/base.yaml:4:3: unknown key 'threds'") == true, "\(error ?? "accepted")")
    }

    /// (what, file, override, the error's start) for numbers the kind cannot run.
    static let numbers: [(String, String, [String], String)] = [
        ("negative in the file", "name: x\ntask: sleep\nparams:\n  seconds: -1\n", [],
         "DIR/x.yaml:4:12: parameter 'seconds' must be in 0…31536000; got -1.0"),
        ("nan in the file", "name: x\ntask: sleep\nparams:\n  seconds: nan\n", [],
         "DIR/x.yaml:4:12: parameter 'seconds' must be a finite number; got nan"),
        ("1e400 in a list", "name: x\ntask: sleep\nparams:\n  seconds: [1, 1e400]\n", [],
         "DIR/x.yaml:4:16: parameter 'seconds' must be a finite number; got inf"),
        ("negative override", "name: x\ntask: sleep\n", ["seconds=-1"],
         "override 'seconds=-1': parameter 'seconds' must be in 0…31536000; got -1.0"),
        ("inf override", "name: x\ntask: sleep\nparams: {seconds: 2}\n", ["seconds=inf"],
         "override 'seconds=inf': parameter 'seconds' must be a finite number; got inf"),
        ("out of range", "name: x\ntask: fail\nparams: {probability: 1.5}\n", [],
         "DIR/x.yaml:3:23: parameter 'probability' must be in 0…1; got 1.5"),
        ("a range bound", "name: x\ntask: sleep\nparams: {seconds: {min: -2, max: 1}}\nsweep: {random: {n: 3}}\n", [],
         "DIR/x.yaml:3:25: parameter 'seconds' must be in 0…31536000; got -2.0"),
    ]

    @Test(arguments: numbers)
    func numbersTheKindCannotRunAreRefusedWhereTheyAreWritten(_ item: (String, String, [String], String)) throws {
        let error = try DiagnosticsTests.error(item.1, overrides: item.2)
        #expect(error?.hasPrefix(item.3) == true, "\(item.0): \(error ?? "accepted")")
    }

    @Test func yamlOneOneBooleansAreRefusedWithTheFix() throws {
        let error = try DiagnosticsTests.error("name: x\ntask: gang.ringsum\nresources: {gang: 2}\nparams:\n  frames: yes\n")
        #expect(error == "DIR/x.yaml:5:11: parameter 'frames' must be bool; got 'yes'; use true or false (YAML 1.1's yes/no/on/off are not booleans in Loom's YAML 1.2 files)")
    }

    @Test func aValueOutsideTheChoicesGetsTheNearest() throws {
        let error = try DiagnosticsTests.error("name: x\ntask: gang.barrier\nresources: {gang: 2}\nparams:\n  topology: rign\n")
        #expect(error == "DIR/x.yaml:5:13: parameter 'topology' must be one of mesh, ring; got 'rign'; did you mean 'ring'?")
    }

    /// A kind's own check (across parameters) names the parameter it speaks of, where it was set.
    @Test func aKindsCheckPointsAtTheParameterItNames() throws {
        let error = try DiagnosticsTests.error("name: x\ntask: gemm\n# n is the size\nparams:\n  threads: 1\n  n: 0\n")
        #expect(error?.hasPrefix("DIR/x.yaml:6:3: run 1 (n=0 threads=1)") == true, "\(error ?? "accepted")")
        let overridden = try DiagnosticsTests.error("name: x\ntask: gemm\nparams:\n  threads: 1\n  n: 64\n", overrides: ["n=20000"])
        #expect(overridden?.hasPrefix("override 'n=20000': run 1 (n=20000 threads=1)") == true, "\(overridden ?? "accepted")")
    }
}
