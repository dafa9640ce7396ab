import Foundation
import Reports

/// Assembles the rendered notebook: numbered captions, cross-references, inline values, each
/// cell's output (or its error, in place), as Markdown and as one HTML page.
struct NotebookPage {
    let notebook: Notebook
    /// Each cell's output, in cell order, and its key.
    let outputs: [CellOutput]
    let keys: [String]
    let inline: (String) -> (text: String, errors: [String])

    /// Figure and table numbers by label, in order of appearance.
    var numbers: [String: (kind: String, number: Int)] {
        var result: [String: (String, Int)] = [:]
        var figures = 0, tables = 0
        for label in notebook.cells.compactMap(\.label) {
            if label.hasPrefix("fig-") { figures += 1; result[label] = ("Figure", figures) }
            else { tables += 1; result[label] = ("Table", tables) }
        }
        return result
    }

    func render(provenance: [(String, String)]) -> (markdown: String, html: String, failures: [String]) {
        let numbers = self.numbers
        var failures: [String] = []
        var markdown = ["---", "title: \(quoted(notebook.front.title))"]
        if !notebook.front.authors.isEmpty { markdown.append("authors: [\(notebook.front.authors.map(quoted).joined(separator: ", "))]") }
        markdown.append("rendered: \(ISO8601DateFormatter().string(from: Date()))")
        for (key, value) in provenance { markdown.append("\(key): \(quoted(value))") }
        markdown.append("cells:")
        for (cell, key) in zip(notebook.cells, keys) { markdown.append("  - {line: \(cell.line), kind: \(cell.kind.rawValue), key: \(key)}") }
        markdown += ["---", ""]

        var body: [String] = []
        var cellIndex = 0
        for block in notebook.blocks {
            switch block {
            case let .prose(text, line):
                var lines: [String] = []
                for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let replaced = inline(String(raw))
                    failures += replaced.errors.map { "\(notebook.file):\(line + offset): \($0)" }
                    lines.append(crossReferenced(replaced.text, numbers: numbers))
                }
                let prose = lines.joined(separator: "\n")
                markdown.append(prose)
                body.append(HTML.prose(prose))
            case let .cell(cell):
                let output = outputs[cellIndex]
                cellIndex += 1
                var captionText = cell.option("caption") ?? ""
                if let label = cell.label, let number = numbers[label] {
                    captionText = "\(number.kind) \(number.number)" + (captionText.isEmpty ? "" : ": \(captionText)")
                }
                var md: [String] = [], html: [String] = []
                if cell.option("echo") == "true" {
                    md.append("```\(cell.kind.rawValue)\n\(cell.body)\n```")
                    html.append("<pre class=\"source\"><code>\(HTML.escape(cell.body))</code></pre>")
                }
                if let error = output.error {
                    md.append("> **Error in the \(cell.kind.rawValue) cell at \(notebook.file):\(cell.line):** \(Escaping.markdown(error))")
                    html.append("<div class=\"error\"><strong>Error in the \(HTML.escape(cell.kind.rawValue)) cell at \(HTML.escape(notebook.file)):\(cell.line):</strong> \(HTML.escape(error))</div>")
                } else {
                    if cell.label?.hasPrefix("tbl-") == true && !captionText.isEmpty { md.append("**\(captionText)**") }
                    md.append(output.markdown)
                    if cell.label?.hasPrefix("fig-") != false && !captionText.isEmpty && cell.label?.hasPrefix("tbl-") != true { md.append("*\(captionText)*") }
                    html.append(output.html)
                }
                markdown.append(md.joined(separator: "\n\n"))
                let id = cell.label.map { " id=\"\(HTML.escape($0))\"" } ?? ""
                let isTable = cell.label?.hasPrefix("tbl-") == true || [.table, .sql].contains(cell.kind)
                let caption = captionText.isEmpty ? "" : (isTable ? "<figcaption class=\"above\">\(HTML.escape(captionText))</figcaption>\n"
                                                                 : "\n<figcaption>\(HTML.escape(captionText))</figcaption>")
                body.append(isTable ? "<figure\(id)>\n\(caption)\(html.joined(separator: "\n"))\n</figure>"
                                    : "<figure\(id)>\n\(html.joined(separator: "\n"))\(caption)\n</figure>")
            }
            markdown.append("")
        }
        let title = HTML.escape(notebook.front.title)
        let authors = notebook.front.authors.isEmpty ? "" : "<p class=\"authors\">\(HTML.escape(notebook.front.authors.joined(separator: ", ")))</p>\n"
        let page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title)</title>
            <style>
            body { font-family: sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; color: #222; }
            figure { margin: 1.5rem 0; }
            figure img { display: block; max-width: 100%; height: auto; }
            figcaption { font-size: 0.9rem; color: #444; margin-top: 0.3rem; }
            figcaption.above { margin: 0 0 0.3rem; }
            table { border-collapse: collapse; font-size: 0.9rem; }
            th, td { border-bottom: 1px solid #ddd; padding: 0.2rem 0.6rem; text-align: left; }
            .error { border-left: 4px solid #b00; background: #fee; padding: 0.5rem 0.8rem; }
            .note { font-size: 0.85rem; color: #555; }
            pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; }
            </style>
            </head>
            <body>
            <h1>\(title)</h1>
            \(authors)\(body.joined(separator: "\n"))
            </body>
            </html>

            """
        return (markdown.joined(separator: "\n"), page, failures)
    }

    /// `@fig-x` → "Figure N" linked to the figure.
    private func crossReferenced(_ line: String, numbers: [String: (kind: String, number: Int)]) -> String {
        var result = line
        for label in CrossReference.references(in: line) {
            guard let number = numbers[label] else { continue }
            result = result.replacingOccurrences(of: "@\(label)", with: "[\(number.kind) \(number.number)](#\(label))")
        }
        return result
    }

    private func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
