extension ReportIndex {
    /// The report as Markdown (`index.md`), linking the same files as the HTML.
    var markdown: String {
        var lines = ["# \(escaped(title))", ""]
        if !data.description.isEmpty { lines += [escaped(data.description), ""] }
        if let live = liveLine { lines += ["> \(escaped(live)) Render again for the latest results.", ""] }
        lines += ["Runs of the latest invocation: \(countsLine).", ""]
        for note in notes { lines += ["> \(escaped(note))", ""] }
        for outcome in figures {
            let name = outcome.figure.name
            lines += ["## \(escaped(ReportIndex.heading(outcome)))", ""]
            if outcome.state == .drawn { lines += ["![\(escaped(name))](\(link(name + ".svg")))", ""] }
            if let problem = ReportIndex.problem(outcome) { lines += ["> \(escaped(problem))", ""] }
            lines.append(escaped(ReportIndex.caption(outcome.figure)))
            if !outcome.files.isEmpty { lines.append("Files: " + outcome.files.map { "[\(escaped($0))](\(link($0)))" }.joined(separator: " · ")) }
            lines.append("")
            let reference = ReferenceTable(figure: outcome.figure, runs: data.runs).map { ($0.caption, $0.header, $0.rows) }
            let winners = WinnerTable(figure: outcome.figure, runs: data.runs).map { ($0.caption, $0.header, $0.rows) }
            for (caption, header, rows) in [reference, winners].compactMap({ $0 }) {
                lines += [escaped(caption), "", "| " + header.map(cell).joined(separator: " | ") + " |",
                          "|" + String(repeating: "---|", count: header.count)]
                lines += rows.map { "| " + $0.map(cell).joined(separator: " | ") + " |" } + [""]
            }
        }
        if !graphs.isEmpty {
            lines += ["## Graphs", ""]
            for graph in graphs {
                lines += ["![\(escaped(graph.title))](\(link(graph.svg)))", "", "run \(graph.run): \(escaped(graph.title))"
                          + (graph.pdf.map { " · [PDF](\(link($0)))" } ?? ""), ""]
            }
        }
        let table = RunTable(data.runs, figureNames: figureNames)
        lines += ["## Runs", ""]
        if table.rows.isEmpty {
            lines += ["No runs.", ""]
        } else {
            for (label, pairs) in [("Fixed parameters", table.fixed), ("Same in every run", table.sameInEveryRun)] where !pairs.isEmpty {
                lines += ["\(label): " + pairs.map { escaped("\($0.name) = \($0.value)") }.joined(separator: " · "), ""]
            }
            lines.append("| " + table.header.map(cell).joined(separator: " | ") + " |")
            lines.append("|" + String(repeating: "---|", count: table.header.count))
            for row in table.rows { lines.append("| " + row.map(cell).joined(separator: " | ") + " |") }
            lines.append("")
        }
        lines += ["## Provenance", ""]
        let provenance = ProvenanceTable(data.provenance).rows
        if provenance.isEmpty { lines.append("The experiment has not run yet.") }
        for (name, value) in provenance { lines.append("- \(escaped(name)): \(escaped(value))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Text as inline Markdown, also safe in a table cell (`Escaping.markdown`).
    private func escaped(_ text: String) -> String { Escaping.markdown(text) }

    private func cell(_ text: String) -> String { Escaping.markdown(text) }

    /// A file of the report directory as a link destination: percent-encoded (`Escaping.relativeURL`),
    /// so it has no space, parenthesis or scheme to end or redirect the link.
    private func link(_ fileName: String) -> String { Escaping.relativeURL(fileName) }
}
