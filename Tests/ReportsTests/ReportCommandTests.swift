import Foundation
import LoomTestSupport
import Testing

/// `loom report` as users run it: the built executable on a real store.
@Suite struct ReportCommandTests {
    @Test(.enabled(if: gnuplotIsInstalled))
    func reportsFromAFileOrWithoutOne() throws {
        let fixture = try ReportFixture()
        let directory = fixture.directory.url
        let state = directory.appendingPathComponent("state").path

        // The recorded experiment file does not exist: the table and provenance only, said on stderr.
        let tableOnly = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state], in: directory)
        #expect(tableOnly.status == 0, "\(tableOnly)")
        #expect(tableOnly.standardError.contains("is gone"), "\(tableOnly)")
        let index = tableOnly.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(index.hasSuffix("reports/sgemm/index.html") && FileManager.default.fileExists(atPath: index), "\(tableOnly)")

        // Figures from --file, checked against the gemm kind's parameters.
        let file = directory.appendingPathComponent("sgemm.yaml")
        try Data("""
            name: sgemm
            task: gemm
            params: {n: [64, 128, 256], threads: [1, 2]}
            report:
              - {name: speed, x: n, y: gflops, series: threads, logx: true, title: sgemm}
            """.utf8).write(to: file)
        let out = directory.appendingPathComponent("paper").path
        let drawn = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state, "--file", file.path, "--out", out],
                                        in: directory)
        #expect(drawn.status == 0, "\(drawn)")
        #expect(drawn.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == out + "/index.html", "\(drawn)")
        for name in ["speed.svg", "speed.pdf", "speed.gp", "speed.dat", "index.md"] {
            #expect(FileManager.default.fileExists(atPath: out + "/" + name), "\(name) written")
        }
    }

    @Test func aTypoInTheReportOrTheExperimentNameIsBadInput() throws {
        let fixture = try ReportFixture()
        let directory = fixture.directory.url
        let state = directory.appendingPathComponent("state").path
        let unknown = try LoomProcess.run(["report", "--experiment", "sgem", "--state", state], in: directory)
        #expect(unknown.status == 2 && unknown.standardError.contains("did you mean 'sgemm'?"), "\(unknown)")

        let file = directory.appendingPathComponent("typo.yaml")
        try Data("name: sgemm\ntask: gemm\nparams: {n: 64}\nreport:\n  - {name: speed, x: n, y: gflops, series: thread}\n".utf8)
            .write(to: file)
        let typo = try LoomProcess.run(["report", "--experiment", "sgemm", "--state", state, "--file", file.path], in: directory)
        #expect(typo.status == 2 && typo.standardError.contains("typo.yaml:5:") && typo.standardError.contains("did you mean 'threads'?"),
                "\(typo)")
    }
}
