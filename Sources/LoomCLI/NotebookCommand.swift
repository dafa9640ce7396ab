import Foundation
import Notebooks

/// `loom notebook render`: a Markdown notebook's cells run against the store, into a folder.
enum NotebookRenderCommand: Command {
    static let words = ["notebook", "render"]
    static let summary = "render a Markdown notebook (tables, figures, queries and graphs from the store) to HTML and Markdown"
    static let usage = "loom notebook render FILE.md [--out DIR] [--state DIR] [--check] [--force] [--no-pdf]"
    static let options: [Option] = [
        .value("out", "DIR", "where index.html, index.md and the figures go (default reports/notebooks/NAME)"),
        .value("state", "DIR", "the store folder (default: the notebook's 'state:', else .loom)"),
        .flag("check", "render nothing; exit 1 naming every cell whose output is stale (a CI guard for papers)"),
        .flag("force", "execute every cell, ignoring the cache"),
        .flag("no-pdf", "do not print index.pdf (by default headless Chromium prints it when the page changed)"),
    ]
    static let acceptsPositionals = true
    static let discussion = """
        A notebook is Markdown with YAML front matter (title, authors, state) and fenced cells \
        whose kind is in braces: ```{loom-table}, ```{loom-plot}, ```{sql}, ```{dot}, with options \
        in '#| key: value' lines (label, caption, width, echo). Prose may hold inline values, \
        `{loom} metric(experiment=E, name=N, stat=median)`, and cross-references (@fig-label, \
        @tbl-label). A cell is executed again only when its text, its options or what it reads \
        from the store changed: editing prose executes nothing. A failing cell shows its error \
        in place and the command exits 1 after writing the rest. index.pdf, the whole notebook, is \
        printed by headless Chromium when the page changed. docs/notebooks.md has the format.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard arguments.positionals.count == 1, let file = arguments.positionals.first else {
            throw .usage("give one notebook file, e.g. loom notebook render notebooks-md/sequence-parallel.md")
        }
        let notebook: Notebook
        do { notebook = try NotebookParser.load(file) } catch { throw .usage(error.description) }
        let name = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let out = URL(fileURLWithPath: arguments.string("out") ?? "reports/notebooks/\(name)")
        let state = arguments.string("state") ?? notebook.front.state ?? ".loom"
        let renderer = NotebookRenderer(notebook: notebook, directory: out, storePath: state + "/loom.db")
        let options = NotebookRenderer.Options(force: arguments.flag("force"), check: arguments.flag("check"),
                                               provenance: [("loom", Provenance.loomVersion), ("commit", Provenance.commit)],
                                               pdf: !arguments.flag("no-pdf"))
        let start = ContinuousClock.now
        let outcome: NotebookRenderer.Outcome
        do { outcome = try renderer.render(options) } catch { throw .failure(error.description) }
        if arguments.flag("check") {
            guard outcome.stale.isEmpty else {
                throw .failure("\(outcome.stale.count) of \(outcome.cells) cell(s) are stale:\n" + outcome.stale.map { "  " + $0 }.joined(separator: "\n")
                               + "\nrender again with 'loom notebook render \(file)'")
            }
            Console.output("\(file): all \(outcome.cells) cell(s) are up to date")
            return
        }
        let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
        Console.progress(String(format: "notebook: %d cell(s), %d executed, %d reused, %.2f s", outcome.cells, outcome.executed.count, outcome.reused, seconds))
        Console.output(outcome.indexHTML.path)
        if let pdf = outcome.pdf { Console.progress("pdf: \(pdf.path)") } else if let note = outcome.pdfNote { Console.progress(note) }
        guard outcome.failures.isEmpty else {
            throw .failure("\(outcome.failures.count) problem(s), shown in place in the page:\n" + outcome.failures.map { "  " + $0 }.joined(separator: "\n"))
        }
    }
}
