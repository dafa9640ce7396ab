import Experiments
import Foundation
import Reports
import Tasks

/// Renders a notebook into a folder: `index.md`, `index.html` and each cell's files, re-executing
/// only the cells whose key changed. A cell's key is its kind, options and body plus a digest of
/// exactly what it reads (an experiment's runs, metrics and artifacts; a query's result), so
/// editing prose re-executes nothing and a new run re-executes only the cells that read its
/// experiment. Keys and outputs are kept in `.loom-notebook-cache.json` in the folder.
public struct NotebookRenderer {
    public struct Options: Sendable {
        public var force = false
        /// Only compute keys and name the stale cells; write nothing.
        public var check = false
        /// Lines for the output's front matter (Loom version, git commit).
        public var provenance: [(String, String)] = []
        /// Print `index.pdf` with headless Chromium when the page changed (or is missing).
        public var pdf = false
        /// The loom executable, which `loom-run` cells run.
        public var loom: URL?
        public init(force: Bool = false, check: Bool = false, provenance: [(String, String)] = [], pdf: Bool = false, loom: URL? = nil) {
            self.force = force; self.check = check; self.provenance = provenance; self.pdf = pdf; self.loom = loom
        }
    }

    public struct Outcome: Sendable {
        public var cells: Int
        public var executed: [Int]
        public var reused: Int
        /// `file:line: kind` of each cell whose output is not that of its current key (with `check`).
        public var stale: [String]
        /// `file:line: message` of each cell or inline value that failed.
        public var failures: [String]
        public var indexHTML: URL
        public var indexMarkdown: URL
        /// The PDF when one was printed or is current, and why not otherwise.
        public var pdf: URL?
        public var pdfNote: String?
    }

    static let cacheName = ".loom-notebook-cache.json"

    struct Cache: Codable {
        var version = 1
        var cells: [String: CellOutput] = [:]
    }

    let notebook: Notebook
    let directory: URL
    let storePath: String

    /// - Parameters:
    ///   - storePath: the store file (`STATE/loom.db`); a missing store is reported by the cells that need it.
    public init(notebook: Notebook, directory: URL, storePath: String) {
        self.notebook = notebook; self.directory = directory; self.storePath = storePath
    }

    /// Opens the store if its file exists, keeping why it could not be (a damaged or newer store
    /// is not "no store").
    private func openStore(into runner: inout CellRunner) {
        runner.store = nil
        runner.storeProblem = nil
        guard FileManager.default.fileExists(atPath: storePath) else { return }
        do { runner.store = try ResultsStore(readingAt: storePath) } catch { runner.storeProblem = "\(error)" }
    }

    public func render(_ options: Options = Options()) throws(NotebookError) -> Outcome {
        var runner = CellRunner(notebook: notebook, store: nil, storePath: storePath, directory: directory, metrics: MetricCatalog())
        openStore(into: &runner)
        runner.stemOwners = runner.stemOwners(notebook.cells)
        runner.loom = options.loom
        let cachePath = directory.appendingPathComponent(Self.cacheName)
        var cache = (try? JSONDecoder().decode(Cache.self, from: Data(contentsOf: cachePath))) ?? Cache()
        if options.force { cache = Cache() }

        var outputs: [String: CellOutput] = [:]
        var keys: [(line: Int, key: String)] = []
        var executed: [Int] = [], reused = 0, stale: [String] = [], failures: [String] = []
        for cell in notebook.cells {
            var key = Self.key(cell, input: runner.inputDigest(cell))
            keys.append((cell.line, key))
            if let cached = cache.cells[key], cached.files.allSatisfy({ FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }) {
                outputs[key] = cached
                reused += 1
                continue
            }
            if options.check {
                stale.append("\(notebook.file):\(cell.line): \(cell.kind.rawValue)\(cell.label.map { " \($0)" } ?? "")")
                continue
            }
            if !FileManager.default.fileExists(atPath: directory.path) {
                do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
                    throw NotebookError(file: directory.path, line: 1, "cannot create the output folder: \(error.localizedDescription)")
                }
            }
            let output = runner.run(cell)
            if cell.kind == .run {
                openStore(into: &runner)
                // Keyed by the plan after the run (every run in the store), which the next render
                // finds unchanged: it then does not run the file again.
                key = Self.key(cell, input: runner.inputDigest(cell))
                keys[keys.count - 1].key = key
            }
            outputs[key] = output
            executed.append(cell.line)
            if output.error == nil { cache.cells[key] = output }
        }
        let indexHTML = directory.appendingPathComponent("index.html"), indexMarkdown = directory.appendingPathComponent("index.md")
        if options.check {
            return Outcome(cells: keys.count, executed: [], reused: reused, stale: stale, failures: [], indexHTML: indexHTML,
                           indexMarkdown: indexMarkdown)
        }
        // Every cell has an output here: reused from the cache or executed just now.
        let page = NotebookPage(notebook: notebook, outputs: keys.compactMap { outputs[$0.key] }, keys: keys.map(\.key),
                                inline: { text in self.inlineValues(text, runner: runner) })
        failures += zip(notebook.cells, keys).compactMap { cell, key in outputs[key.key]?.error.map { "\(notebook.file):\(cell.line): \($0)" } }
        // The store as the cells read it: its last invocation and how many runs it holds.
        var snapshot = "no store"
        if let store = runner.store,
           let row = try? store.readOnlyQuery("SELECT (SELECT MAX(id) FROM invocation), (SELECT COUNT(*) FROM run)", maximumRows: 1).rows.first {
            snapshot = "invocation \(row[0] ?? "none"), \(row[1] ?? "0") runs"
        }
        let rendered = page.render(provenance: options.provenance + [("store", storePath), ("store_snapshot", snapshot)])
        failures += rendered.failures
        // Only the cells of this render are kept: a cell edited away no longer holds its outputs.
        cache.cells = cache.cells.filter { entry in keys.contains { $0.key == entry.key } }
        // The page without its render time: unchanged means the PDF need not be printed again.
        let previousPage = try? String(contentsOf: indexHTML, encoding: .utf8)
        let pageChanged = previousPage != rendered.html
        do {
            try Data(rendered.markdown.utf8).write(to: indexMarkdown, options: .atomic)
            if pageChanged { try Data(rendered.html.utf8).write(to: indexHTML, options: .atomic) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(cache).write(to: cachePath, options: .atomic)
        } catch {
            throw NotebookError(file: directory.path, line: 1, "cannot write the rendered notebook: \(error.localizedDescription)")
        }
        var outcome = Outcome(cells: keys.count, executed: executed, reused: reused, stale: [], failures: failures,
                              indexHTML: indexHTML, indexMarkdown: indexMarkdown)
        if options.pdf {
            let pdf = directory.appendingPathComponent("index.pdf")
            if !pageChanged && FileManager.default.fileExists(atPath: pdf.path) {
                outcome.pdf = pdf
            } else if let note = NotebookPDF.print(indexHTML, to: pdf) {
                outcome.pdfNote = note
            } else {
                outcome.pdf = pdf
            }
        }
        return outcome
    }

    /// Raised when what a cell renders changes for the same inputs, so old outputs are not reused.
    static let outputVersion = "1"

    /// The cell's key: kind, options, body and the digest of what it reads.
    static func key(_ cell: Notebook.Cell, input: String) -> String {
        var hash = SHA256()
        for part in [outputVersion, cell.kind.rawValue] + cell.options.flatMap { [$0.key, $0.value] } + [cell.body, input] {
            hash.update(Array("\(part.utf8.count):".utf8))
            hash.update(Array(part.utf8))
        }
        return hash.hexDigest()
    }

    /// Replaces each inline value in `text` by its number; an error is shown in its place.
    func inlineValues(_ text: String, runner: CellRunner) -> (text: String, errors: [String]) {
        var result = "", errors: [String] = []
        var cursor = text.startIndex
        for occurrence in InlineValue.occurrences(in: text) {
            result += text[cursor..<occurrence.range.lowerBound]
            cursor = occurrence.range.upperBound
            do throws(NotebookInputError) {
                let value = try occurrence.value.get()
                guard let store = runner.store else { throw NotebookInputError(runner.missingStore) }
                let data: ReportData?
                do { data = try ReportData.load(experiment: value.experiment, from: store) } catch { throw NotebookInputError("\(error)") }
                guard let data else { throw NotebookInputError("no experiment '\(value.experiment)' in the store") }
                result += try value.evaluate(data)
            } catch {
                result += "**[error: \(error.description)]**"
                errors.append(error.description)
            }
        }
        result += text[cursor...]
        return (result, errors)
    }
}
