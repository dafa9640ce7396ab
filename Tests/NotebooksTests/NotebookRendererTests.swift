import Experiments
import Foundation
import Notebooks
import ProcessTestSupport
import Testing

/// Rendering against a real store made by `loom run`: outputs, errors in place, the read-only
/// query, escaping, and the per-cell cache (prose edits execute nothing; a new run executes only
/// the cells that read its experiment; --check names the stale ones).
@Suite(.serialized) struct NotebookRendererTests {
    final class Fixture {
        let scratch: TemporaryDirectory
        var store: String { scratch.path("state/loom.db") }
        var out: URL { scratch.url.appendingPathComponent("out") }

        init() throws {
            scratch = try TemporaryDirectory()
            try run("name: alpha\ntask: sleep\nparams: {seconds: [0.01, 0.02]}\n", file: "alpha.yaml")
            try run("name: beta\ntask: sleep\nparams: {seconds: [0.03]}\n", file: "beta.yaml")
        }

        func run(_ text: String, file: String, overrides: [String] = []) throws {
            try text.write(toFile: scratch.path(file), atomically: true, encoding: .utf8)
            let ran = try LoomProcess.run(["run", scratch.path(file)] + overrides + ["--workers", "1", "--state", scratch.path("state"), "--no-report"],
                                          deadline: .seconds(120))
            #expect(ran.status == 0, "\(ran)")
        }

        func render(_ text: String, check: Bool = false) throws -> NotebookRenderer.Outcome {
            let notebook = try NotebookParser.parse(text, file: "nb.md")
            return try NotebookRenderer(notebook: notebook, directory: out, storePath: store).render(.init(check: check))
        }

        var html: String { (try? String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)) ?? "" }
        var markdown: String { (try? String(contentsOf: out.appendingPathComponent("index.md"), encoding: .utf8)) ?? "" }
    }

    static func notebook(prose: String = "The median sleep was `{loom} metric(experiment=alpha, name=slept_s)` s (@fig-alpha).") -> String {
        """
        ---
        title: Cache test
        ---
        \(prose)

        ```{loom-plot}
        #| label: fig-alpha
        #| caption: Alpha's sleeps <script>alert(1)</script>
        experiment: alpha
        x: seconds
        y: slept_s
        ```

        ```{loom-table}
        #| label: tbl-beta
        experiment: beta
        columns: [seconds, slept_s]
        ```

        ```{sql}
        SELECT COUNT(*) AS runs FROM run r JOIN experiment e ON e.id = r.experiment_id WHERE e.name = 'beta'
        ```
        """
    }

    @Test func cellsRenderAndTheCacheExecutesOnlyWhatChanged() throws {
        let fixture = try Fixture()
        let first = try fixture.render(Self.notebook())
        #expect(first.failures.isEmpty, "\(first.failures)")
        #expect(first.executed == [6, 14, 20] && first.reused == 0)
        #expect(fixture.markdown.contains("The median sleep was 0.015 s ([Figure 1](#fig-alpha))"), "\(fixture.markdown)")
        #expect(fixture.markdown.contains("store_snapshot: \"invocation 2, 3 runs\""), "\(fixture.markdown)")
        #expect(fixture.markdown.contains("| 0.03 | 0.03 |") && fixture.markdown.contains("| runs |\n|---|\n| 1 |"), "\(fixture.markdown)")
        #expect(FileManager.default.fileExists(atPath: fixture.out.appendingPathComponent("alpha.svg").path))
        #expect(fixture.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !fixture.html.contains("<script>alert"), "a caption is escaped")

        // Editing prose executes nothing.
        let edited = try fixture.render(Self.notebook(prose: "New words; still `{loom} metric(experiment=alpha, name=slept_s, stat=max)` s, "
                                                      + "`{loom} metric(experiment=alpha, name=slept_s, seconds=1e-2)` s at 1e-2."))
        #expect(edited.executed.isEmpty && edited.reused == 3)
        #expect(fixture.markdown.contains("New words; still 0.02 s, 0.01 s at 1e-2."), "a filter matches the same number written otherwise")

        // A new run of alpha: only alpha's cell is stale, and only it runs again.
        try fixture.run("name: alpha\ntask: sleep\nparams: {seconds: [0.01, 0.02, 0.04]}\n", file: "alpha.yaml")
        let check = try fixture.render(Self.notebook(), check: true)
        #expect(check.stale == ["nb.md:6: loom-plot fig-alpha"], "\(check.stale)")
        let again = try fixture.render(Self.notebook())
        #expect(again.executed == [6] && again.reused == 2)
        #expect(fixture.markdown.contains("The median sleep was 0.02 s"), "\(fixture.markdown)")
        #expect(try fixture.render(Self.notebook(), check: true).stale.isEmpty)
    }

    @Test func aFailingCellShowsItsErrorInPlaceAndTheRestRenders() throws {
        let fixture = try Fixture()
        let text = """
            Before.

            ```{sql}
            DELETE FROM run
            ```

            ```{loom-table}
            experiment: gamma
            columns: [seconds]
            ```

            ```{loom-table}
            experiment: beta
            columns: [secnds]
            ```

            ```{gnuplot}
            plot "no-such-file.dat"
            ```

            ```{dot}
            digraph { a -> b }
            ```
            """
        let outcome = try fixture.render(text)
        #expect(outcome.failures.count == 4, "\(outcome.failures)")
        #expect(outcome.failures[0].hasPrefix("nb.md:3:") && outcome.failures[0].contains("would change the store"), "\(outcome.failures)")
        #expect(outcome.failures[1].contains("no experiment 'gamma'") && outcome.failures[1].contains("alpha, beta"), "\(outcome.failures)")
        #expect(outcome.failures[2].contains("did you mean 'seconds'?"), "\(outcome.failures)")
        #expect(outcome.failures[3].contains("gnuplot (sandboxed) failed") && outcome.failures[3].contains("no-such-file.dat"), "\(outcome.failures)")
        #expect(fixture.html.contains("class=\"error\"") && fixture.html.contains("cell-21.svg"), "the dot cell still rendered")
        // The store was only read.
        let store = try ResultsStore(readingAt: fixture.store)
        #expect(try store.runs().count == 3)
        // A second statement is refused too.
        let two = try fixture.render("```{sql}\nSELECT 1; DELETE FROM run\n```\n")
        #expect(two.failures.first?.contains("one statement") == true, "\(two.failures)")
        // A semicolon inside a string is not a second statement; a trailing one is fine.
        let quoted = try fixture.render("```{sql}\nSELECT 'a;b' AS text;\n```\n")
        #expect(quoted.failures.isEmpty && fixture.markdown.contains("| a;b |"), "\(quoted.failures)")
    }

    /// ATTACH behind a space or a comment once passed a prefix check and read another SQLite
    /// file; BEGIN left the connection in a transaction; a recursive WITH without a stop ran
    /// forever. Each is refused or stopped, with the fix.
    @Test func aQueryCannotAttachHoldATransactionOrRunForever() throws {
        let fixture = try Fixture()
        let other = fixture.scratch.path("other.db")
        _ = try ResultsStore(path: other)
        for sql in [" ATTACH '\(other)' AS e", "/* c */ ATTACH '\(other)' AS e", "BEGIN", "SAVEPOINT s", "DETACH main"] {
            let outcome = try fixture.render("```{sql}\n\(sql)\n```\n")
            #expect(outcome.failures.first?.contains("ATTACH, DETACH and transactions are not allowed") == true, "\(sql): \(outcome.failures)")
        }
        #expect(try fixture.render("```{sql}\nSELECT count(*) AS n FROM run\n```\n").failures.isEmpty, "the connection is still usable")
        let store = try ResultsStore(readingAt: fixture.store)
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        let start = ContinuousClock.now
        #expect { _ = try store.readOnlyQuery(endless, maximumRows: 10, timeout: .milliseconds(300)) } throws: {
            "\($0)".contains("the query ran past") && "\($0)".contains("needs a stop")
        }
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect { _ = try store.readOnlyQuery("SELECT printf('%.*c', 2000000, 'x') FROM run", maximumRows: 10, maximumBytes: 1 << 20) } throws: {
            "\($0)".contains("passes 1 MiB of text")
        }
    }

    /// A value from the store (here a query's text) is escaped in index.md, as in index.html.
    @Test func storeValuesAreEscapedInTheMarkdown() throws {
        let fixture = try Fixture()
        let outcome = try fixture.render("```{sql}\nSELECT '<script>alert(1)</script> *x* |y' AS v\n```\n")
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(!fixture.markdown.contains("<script>") && fixture.markdown.contains("\\<script\\>"), "\(fixture.markdown)")
        #expect(fixture.markdown.contains("\\*x\\* \\|y"), "\(fixture.markdown)")
    }

    /// A link left in the output folder in place of a graph's file is replaced, not written through.
    @Test func aGraphReplacesALinkInsteadOfWritingThroughIt() throws {
        let fixture = try Fixture()
        let victim = fixture.scratch.path("victim.svg")
        try "keep".write(toFile: victim, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: fixture.out, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: fixture.out.appendingPathComponent("g.svg").path, withDestinationPath: victim)
        let outcome = try fixture.render("```{dot}\n#| label: fig-g\ndigraph { a -> b }\n```\n")
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "keep")
        let written = fixture.out.appendingPathComponent("g.svg").path
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: written)) == nil && FileManager.default.fileExists(atPath: written))
    }

    /// Two cells writing one file once showed one figure twice, silently; `fig-index` overwrote
    /// the page's own index.pdf.
    @Test func twoCellsCannotWriteOneFile() throws {
        let fixture = try Fixture()
        let outcome = try fixture.render("""
            ```{dot}
            #| label: fig-alpha
            digraph { a -> b }
            ```

            ```{loom-plot}
            experiment: alpha
            name: alpha
            x: seconds
            y: slept_s
            ```

            ```{dot}
            #| label: fig-index
            digraph { c }
            ```
            """)
        #expect(outcome.failures.count == 2, "\(outcome.failures)")
        #expect(outcome.failures.first?.contains("the cell at line 1 already writes alpha.svg") == true, "\(outcome.failures)")
        #expect(outcome.failures.last?.contains("index.* are the page's own") == true, "\(outcome.failures)")
    }

    /// A misspelt metric once counted 0 and a misspelt filter left a table empty, both silently.
    @Test func misspeltNamesAreNamedWithTheNearest() throws {
        let fixture = try Fixture()
        let outcome = try fixture.render("""
            Slept `{loom} metric(experiment=alpha, name=slept_z, stat=count)` times, \
            `{loom} metric(experiment=alpha, name=slept_s, secnds=0.01)` s.

            ```{loom-table}
            experiment: alpha
            columns: [seconds]
            where: {secnds: 0.01}
            ```
            """)
        let text = outcome.failures.joined(separator: "\n")
        #expect(outcome.failures.count == 3, "\(outcome.failures)")
        #expect(text.contains("no run has 'slept_z'; did you mean 'slept_s'?"), "\(text)")
        #expect(text.contains("no run has a parameter 'secnds'; did you mean 'seconds'?"), "\(text)")
        #expect(text.contains("where: no run of 'alpha' has a parameter 'secnds'; did you mean 'seconds'?"), "\(text)")
    }

    /// `file:` becomes an argument of `loom run`: one that starts with '-' would be an option.
    @Test func aRunCellsFileCannotBeAnOption() throws {
        let fixture = try Fixture()
        let outcome = try fixture.render("```{loom-run}\nfile: --force\noverrides: [\"k=v/sl.yaml\"]\n```\n")
        #expect(outcome.failures.first?.contains("starts with '-'; write ./--force") == true, "\(outcome.failures)")
    }

    /// A store that exists but cannot be read is named as such, not as a missing store.
    @Test func aDamagedStoreIsNotCalledMissing() throws {
        let scratch = try TemporaryDirectory()
        try Data(repeating: 0x5A, count: 4096).write(to: scratch.url.appendingPathComponent("loom.db"))
        let notebook = try NotebookParser.parse("```{sql}\nSELECT 1\n```\n", file: "nb.md")
        let outcome = try NotebookRenderer(notebook: notebook, directory: scratch.url.appendingPathComponent("out"),
                                           storePath: scratch.path("loom.db")).render()
        #expect(outcome.failures.first?.contains("cannot be read") == true && outcome.failures.first?.contains("no store at") == false,
                "\(outcome.failures)")
    }
}

/// `loom notebook new` writes a notebook that renders: a table of the runs and the report's figures.
@Suite struct NotebookNewTests {
    @Test func aStartingNotebookRendersWithTheExperimentsFigures() throws {
        let scratch = try TemporaryDirectory()
        let experiment = """
            name: gamma
            description: "sleeps \\"quoted\\" — and a colon: here"
            task: sleep
            params: {seconds: [0.01, 0.02]}
            repeat: 2
            report:
              - {name: slept, x: seconds, y: slept_s, title: "what: it slept"}
            """
        try experiment.write(toFile: scratch.path("gamma.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("gamma.yaml"), "--workers", "1", "--state", scratch.path("state"), "--no-report"],
                                      deadline: .seconds(120))
        #expect(ran.status == 0, "\(ran)")
        let made = try LoomProcess.run(["notebook", "new", "gamma-notes", "--experiment", "gamma", "--state", scratch.path("state"),
                                        "--dir", scratch.path("nb")])
        #expect(made.status == 0, "\(made)")
        let text = try String(contentsOfFile: scratch.path("nb/gamma-notes.md"), encoding: .utf8)
        #expect(text.contains("columns: [\"seconds\", \"slept_s\"]") && text.contains("group_by: [\"seconds\"]"), "\(text)")
        let rendered = try LoomProcess.run(["notebook", "render", scratch.path("nb/gamma-notes.md"), "--out", scratch.path("out"), "--no-pdf"])
        #expect(rendered.status == 0, "\(rendered)")
        let html = try String(contentsOfFile: scratch.path("out/index.html"), encoding: .utf8)
        #expect(html.contains("<h1>sleeps &quot;quoted&quot; — and a colon: here</h1>") && html.contains("Figure 1: what: it slept"), "\(html)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("out/slept.svg")))
        let again = try LoomProcess.run(["notebook", "new", "gamma-notes", "--experiment", "gamma", "--state", scratch.path("state"),
                                         "--dir", scratch.path("nb")])
        #expect(again.status == 2 && again.standardError.contains("exists"), "\(again)")
        let unknown = try LoomProcess.run(["notebook", "new", "x", "--experiment", "gama", "--state", scratch.path("state"), "--dir", scratch.path("nb")])
        #expect(unknown.status == 2 && unknown.standardError.contains("gamma"), "\(unknown)")
    }
}

/// A `loom-run` cell makes a notebook a reproduction from nothing: it runs its experiment file
/// through `loom run`, and runs it again only when the file's runs are not all in the store.
@Suite struct NotebookRunCellTests {
    @Test func aRunCellRunsItsExperimentOnceAndAgainWhenTheFileChanges() throws {
        let scratch = try TemporaryDirectory()
        try "name: delta\ntask: sleep\nparams: {seconds: [0.01, 0.02]}\n".write(toFile: scratch.path("delta.yaml"), atomically: true, encoding: .utf8)
        let notebook = """
            ---
            title: From nothing
            state: \(scratch.path("state"))
            ---
            ```{loom-run}
            file: \(scratch.path("delta.yaml"))
            workers: 1
            ```

            Slept `{loom} metric(experiment=delta, name=slept_s, stat=count)` times.

            ```{loom-table}
            experiment: delta
            columns: [seconds, slept_s]
            ```
            """
        try notebook.write(toFile: scratch.path("nb.md"), atomically: true, encoding: .utf8)
        let render = ["notebook", "render", scratch.path("nb.md"), "--out", scratch.path("out"), "--no-pdf"]
        let first = try LoomProcess.run(render, deadline: .seconds(120))
        #expect(first.status == 0 && first.standardError.contains("2 executed, 0 reused"), "\(first)")
        let page = try String(contentsOfFile: scratch.path("out/index.md"), encoding: .utf8)
        #expect(page.contains("Slept 2 times.") && page.contains("2 succeeded"), "\(page)")
        let second = try LoomProcess.run(render, deadline: .seconds(120))
        #expect(second.status == 0 && second.standardError.contains("0 executed, 2 reused"), "\(second)")

        // A new value in the file: the run cell is stale, and so then is the table that reads its runs.
        try "name: delta\ntask: sleep\nparams: {seconds: [0.01, 0.02, 0.03]}\n".write(toFile: scratch.path("delta.yaml"), atomically: true, encoding: .utf8)
        let check = try LoomProcess.run(render + ["--check"], deadline: .seconds(120))
        #expect(check.status == 1 && check.standardError.contains("nb.md:5: loom-run"), "\(check)")
        let third = try LoomProcess.run(render, deadline: .seconds(120))
        #expect(third.status == 0 && third.standardError.contains("2 executed, 0 reused"), "\(third)")
        #expect(try String(contentsOfFile: scratch.path("out/index.md"), encoding: .utf8).contains("Slept 3 times."))

        // A file that does not exist is an error in place.
        try notebook.replacingOccurrences(of: "delta.yaml", with: "nope.yaml").write(toFile: scratch.path("bad.md"), atomically: true, encoding: .utf8)
        let bad = try LoomProcess.run(["notebook", "render", scratch.path("bad.md"), "--out", scratch.path("bad"), "--no-pdf"], deadline: .seconds(120))
        #expect(bad.status == 1 && bad.standardError.contains("bad.md:5:") && bad.standardError.contains("nope.yaml"), "\(bad)")
    }
}

/// `loom-graph` shows a graph a run stored (an SVG artifact) by name.
@Suite struct NotebookGraphCellTests {
    @Test func aStoredGraphIsCopiedBesideThePageAndAMissingOneIsNamed() throws {
        let scratch = try TemporaryDirectory()
        try "name: eps\ntask: artifact\nparams: {path: \(scratch.path("made/circuit.svg")), bytes: 64, seed: [1, 2]}\n"
            .write(toFile: scratch.path("eps.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("eps.yaml"), "--workers", "1", "--test-kinds", "--state", scratch.path("state"), "--no-report"],
                                      deadline: .seconds(120))
        #expect(ran.status == 0, "\(ran)")
        let text = """
            ```{loom-graph}
            #| label: fig-circuit
            experiment: eps
            graph: circuit
            run: 2
            ```

            ```{loom-graph}
            experiment: eps
            graph: circut
            ```
            """
        let notebook = try NotebookParser.parse(text, file: "g.md")
        let out = scratch.url.appendingPathComponent("out")
        let outcome = try NotebookRenderer(notebook: notebook, directory: out, storePath: scratch.path("state/loom.db")).render()
        // Run 2's copy, not run 1's (the stored artifacts differ by seed).
        let store = try ResultsStore(readingAt: scratch.path("state/loom.db"))
        let second = try #require(try store.artifacts(run: 2).first)
        #expect(FileManager.default.contents(atPath: out.appendingPathComponent("circuit.svg").path) == FileManager.default.contents(atPath: second.path))
        #expect(outcome.failures.count == 1 && outcome.failures[0].hasPrefix("g.md:8:") && outcome.failures[0].contains("stored: circuit"),
                "\(outcome.failures)")
    }
}

/// `gnuplot` cells: the author's script over data an earlier cell exported, in a sandbox where no
/// command can run and nothing outside the output folder can be written.
@Suite struct NotebookGnuplotCellTests {
    @Test func aScriptDrawsFromExportedDataAndCannotReachAShell() throws {
        let fixture = try NotebookRendererTests.Fixture()
        let marker = fixture.scratch.path("PWNED")
        let text = NotebookRendererTests.notebook() + """


            ```{gnuplot}
            #| label: fig-raw
            #| caption: Alpha's sleeps again, by the author's own script.
            set xlabel "seconds"
            plot "alpha.dat" using 1:2 with linespoints title "slept"
            ```

            ```{gnuplot}
            x = system("touch \(marker)-system")
            plot sin(x)
            ```

            ```{gnuplot}
            !touch \(marker)-bang
            plot sin(x)
            ```

            ```{gnuplot}
            set print "\(marker)-print"
            print "escaped"
            plot sin(x)
            ```

            ```{gnuplot}
            set output "| touch \(marker)-pipe"
            plot sin(x)
            ```

            ```{gnuplot}
            plot "< touch \(marker)-data" using 1
            plot sin(x)
            ```

            ```{gnuplot}
            load "< touch \(marker)-load"
            plot sin(x)
            ```

            """
        let outcome = try fixture.render(text)
        let raw = fixture.out.appendingPathComponent("raw.svg")
        #expect(FileManager.default.fileExists(atPath: raw.path), "\(outcome.failures)")
        #expect(!outcome.failures.isEmpty && outcome.failures.allSatisfy { $0.contains("gnuplot (sandboxed) failed") }, "\(outcome.failures)")
        let made = try FileManager.default.contentsOfDirectory(atPath: fixture.scratch.url.path).filter { $0.hasPrefix("PWNED") }
        #expect(made.isEmpty, "nothing the script asked for ran or was written outside the output folder: \(made)")
        #expect(fixture.html.contains("Figure 2: Alpha"), "\(fixture.html.prefix(0))")
    }
}

