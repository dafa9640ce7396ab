import Foundation
import Notebooks
import Testing

/// The notebook format: front matter, cells and their options, and every malformed notebook
/// named at its line.
@Suite struct NotebookParserTests {
    static let good = """
        ---
        title: A study
        authors: [A. Author, B. Author]
        state: results/.loom
        ---
        Intro with `{loom} metric(experiment=e, name=gflops)` and @fig-speed and @tbl-runs.

        ```swift
        let shown = "a plain code block is prose"
        ```

        ```{loom-plot}
        #| label: fig-speed
        #| caption: Speed.
        #| width: 80%
        experiment: e
        x: n
        y: gflops
        ```

        ````{sql}
        #| label: tbl-runs
        #| echo: true
        SELECT status, COUNT(*) FROM run GROUP BY status
        ````

        ```{dot}
        digraph { a -> b }
        ```
        """

    @Test func frontMatterCellsAndOptionsAreRead() throws {
        let notebook = try NotebookParser.parse(Self.good, file: "nb.md")
        #expect(notebook.front.title == "A study" && notebook.front.authors == ["A. Author", "B. Author"] && notebook.front.state == "results/.loom")
        #expect(notebook.cells.map(\.kind) == [.plot, .sql, .dot])
        let plot = notebook.cells[0]
        #expect(plot.label == "fig-speed" && plot.option("caption") == "Speed." && plot.option("width") == "80%")
        #expect(plot.line == 12 && plot.bodyLine == 16 && plot.body == "experiment: e\nx: n\ny: gflops")
        #expect(notebook.cells[1].option("echo") == "true" && notebook.cells[1].body.hasPrefix("SELECT"))
        // The plain swift block stays in the prose.
        guard case let .prose(text, line) = notebook.blocks[0] else { Issue.record("first block is not prose"); return }
        #expect(line == 6 && text.contains("a plain code block is prose"))
    }

    @Test(arguments: [
        ("```{loom-plot}\nx: 1\n", 1, "never closed"),
        ("text\n```{loom-plto}\nx\n```\n", 2, "unknown cell kind 'loom-plto'; did you mean 'loom-plot'?"),
        ("```{sql}\n#| lable: tbl-x\nSELECT 1\n```\n", 2, "unknown cell option 'lable'; did you mean 'label'?"),
        ("See @fig-missing.\n", 1, "@fig-missing refers to no cell"),
        ("```{dot}\n#| label: figure-1\ndigraph {}\n```\n", 1, "must start with fig-"),
        ("```{dot}\n#| label: fig-a\n```\n```{dot}\n#| label: fig-a\n```\n", 4, "used twice (first on line 1)"),
        ("```{dot}\n#| width: huge\n```\n", 1, "width 'huge'"),
        ("---\ntitle: x\n", 1, "front matter opened here is never closed"),
        ("---\ntitel: x\n---\n", 2, "unknown front matter key 'titel'"),
        ("```{dot}\n#| caption\n```\n", 2, "'#| key: value'"),
    ] as [(String, Int, String)])
    func malformedNotebooksAreNamedAtTheirLine(text: String, line: Int, message: String) {
        do {
            _ = try NotebookParser.parse(text, file: "bad.md")
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.problems.contains { $0.line == line && $0.file == "bad.md" && $0.message.contains(message) }, "\(error)")
        }
    }

    @Test func everyProblemIsReportedAtOnce() {
        let text = "```{nope}\n```\nSee @tbl-x.\n```{sql}\n#| bad: 1\nSELECT 1\n```\n"
        #expect(throws: NotebookError.self) { try NotebookParser.parse(text, file: "n.md") }
        do { _ = try NotebookParser.parse(text, file: "n.md") } catch {
            #expect(error.problems.map(\.line) == [1, 5, 3], "\(error)")
        }
    }

    @Test func aMissingOrOversizedFileIsNamed() throws {
        #expect(throws: NotebookError.self) { try NotebookParser.load("/no/such/notebook.md") }
    }
}
