import Foundation
import ProcessTestSupport
import Testing

/// `loom run` and `loom submit` refuse the test-only kinds unless `--test-kinds` asks for them.
@Suite struct TestKindsCommandTests {
    @Test func runOfAnAppendExperimentIsRefusedWithoutTheOptIn() throws {
        let scratch = try TemporaryDirectory()
        let target = scratch.path("written-by-append")
        try "name: appends\ntask: append\nparams: {path: \"\(target)\", line: x}\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "1", "--state", scratch.path("state")]
        let refused = try LoomProcess.run(arguments, deadline: .seconds(60))
        #expect(refused.status == 2 && refused.standardError.contains("\(scratch.path("x.yaml")):2:7: ")
                && refused.standardError.contains("'append' is a test-only kind") && refused.standardError.contains("--test-kinds"),
                "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: target), "nothing may run")
        let allowed = try LoomProcess.run(arguments + ["--test-kinds", "--quiet", "--no-report"], deadline: .seconds(60))
        #expect(allowed.status == 0 && (try? String(contentsOfFile: target, encoding: .utf8)) == "x\n", "\(allowed)")
    }

    @Test func submitOfATestKindIsRefusedWithoutTheOptIn() throws {
        let refused = try LoomProcess.run(["submit", "--connect", "tcp://127.0.0.1:1", "--kind", "crash"], deadline: .seconds(30))
        #expect(refused.status == 2 && refused.standardError.contains("'crash' is a test-only kind"), "\(refused)")
        let help = try LoomProcess.run(["submit", "--help"], deadline: .seconds(30))
        let listed = help.standardOutput + help.standardError
        #expect(listed.contains("Test-only kinds") && listed.contains("append, artifact, crash, fail") && !listed.contains("  append:"), "\(help)")
    }
}
