import Reports

/// What a cell rendered: its Markdown and HTML, the files it wrote beside the index, and, when it
/// failed, why (shown in place; the render then exits non-zero).
struct CellOutput: Codable, Sendable, Equatable {
    var markdown: String
    var html: String
    var files: [String]
    var error: String?
}

/// A table as a cell shows it.
struct CellTable {
    var columns: [String]
    var rows: [[String]]
    var note: String?

    var markdown: String {
        // Values come from the store (a run's parameters, metrics, a query's rows): escaped, so
        // none becomes Markdown or raw HTML in index.md, as the report's tables do.
        func cell(_ text: String) -> String { Escaping.markdown(text) }
        var lines = ["| " + columns.map(cell).joined(separator: " | ") + " |", "|" + columns.map { _ in "---" }.joined(separator: "|") + "|"]
        lines += rows.map { "| " + $0.map(cell).joined(separator: " | ") + " |" }
        if let note { lines += ["", "*\(note)*"] }
        return lines.joined(separator: "\n")
    }

    var html: String {
        var out = "<table>\n<thead><tr>" + columns.map { "<th>\(HTML.escape($0))</th>" }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows { out += "<tr>" + row.map { "<td>\(HTML.escape($0))</td>" }.joined() + "</tr>\n" }
        out += "</tbody>\n</table>"
        if let note { out += "\n<p class=\"note\">\(HTML.escape(note))</p>" }
        return out
    }
}
