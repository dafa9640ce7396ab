extension ReportIndex {
    /// Light styling, inline so the page is one self-contained file. The page is as wide as the
    /// widest figure, prose keeps a readable measure, and a picture wider than the window scrolls
    /// in its own box rather than shrinking below three quarters of its size.
    static let style = """
        body { font: 15px/1.45 -apple-system, "Helvetica Neue", Helvetica, Arial, sans-serif; color: #222; max-width: 1500px; margin: 2em auto; padding: 0 1em; }
        p, dl, figcaption { max-width: 90ch; }
        h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ddd; }
        figure { margin: 1em 0; } .picture { overflow-x: auto; max-width: 100%; }
        .picture img { display: block; box-sizing: border-box; max-width: 100%; height: auto; border: 1px solid #eee; }
        figcaption, .files, .counts { color: #555; font-size: .92em; }
        .note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .4em .8em; white-space: pre-wrap; }
        .live { background: #e8f4fd; border-left: 4px solid #1a73e8; padding: .4em .8em; }
        table { border-collapse: collapse; font-size: .9em; } th, td { border: 1px solid #ddd; padding: .25em .6em; }
        th { background: #f5f5f5; text-align: left; } caption { color: #555; font-size: .92em; text-align: left; padding: .3em 0; } td.number { text-align: right; font-variant-numeric: tabular-nums; }
        dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; } dt { color: #555; } dd { margin: 0; font-family: monospace; overflow-wrap: anywhere; }
        """

    /// The report as one self-contained HTML page (`index.html`); it references only files written.
    /// While the experiment runs (`liveLine`), the page says so and reloads every `reloadSeconds`.
    var html: String {
        var body = ["<h1>\(escaped(title))</h1>"]
        if let live = liveLine {
            body.append("<p class=\"live\">\(escaped(live)) This page reloads every \(ReportIndex.reloadSeconds) s until it ends.</p>")
        }
        if !data.description.isEmpty { body.append("<p>\(escaped(data.description))</p>") }
        body.append("<p class=\"counts\">Runs of the latest invocation: \(escaped(countsLine)).</p>")
        for note in notes { body.append("<p class=\"note\">\(escaped(note))</p>") }
        for outcome in figures {
            let name = outcome.figure.name
            body.append("<h2 id=\"\(escaped(name))\">\(escaped(ReportIndex.heading(outcome)))</h2>")
            body.append("<figure>")
            if outcome.state == .drawn { body.append(picture(name + ".svg", alt: outcome.figure.title ?? name)) }
            if let problem = ReportIndex.problem(outcome) { body.append("<p class=\"note\">\(escaped(problem))</p>") }
            body.append("<figcaption>\(escaped(ReportIndex.caption(outcome.figure)))</figcaption></figure>")
            if !outcome.files.isEmpty {
                body.append("<p class=\"files\">" + outcome.files.filter { !$0.hasSuffix(".svg") }
                    .map { "<a href=\"\(link($0))\">\(escaped($0))</a>" }.joined(separator: " · ") + "</p>")
            }
            if let table = ReferenceTable(figure: outcome.figure, runs: data.runs) {
                body.append(html(caption: table.caption, header: table.header, rows: table.rows, class: "reference"))
            }
            if let table = WinnerTable(figure: outcome.figure, runs: data.runs) {
                body.append(html(caption: table.caption, header: table.header, rows: table.rows, class: "winners"))
            }
        }
        if !graphs.isEmpty {
            body.append("<h2>Graphs</h2>")
            for graph in graphs {
                body.append("<figure>" + picture(graph.svg, alt: graph.title)
                            + "<figcaption>run \(graph.run): \(escaped(graph.title))"
                            + (graph.pdf.map { " · <a href=\"\(link($0))\">PDF</a>" } ?? "") + "</figcaption></figure>")
            }
        }
        body.append("<h2 id=\"runs\">Runs</h2>")
        let table = RunTable(data.runs, figureNames: figureNames)
        body.append(table.rows.isEmpty ? "<p>No runs.</p>" : table.html(metrics: metrics))
        body.append("<h2 id=\"provenance\">Provenance</h2>")
        let provenance = ProvenanceTable(data.provenance).rows
        if provenance.isEmpty {
            body.append("<p>The experiment has not run yet.</p>")
        } else {
            body.append("<dl>" + provenance.map { "<dt>\(escaped($0.0))</dt><dd>\(escaped($0.1))</dd>" }.joined(separator: "\n") + "</dl>")
        }
        let reload = liveLine == nil ? "" : "<meta http-equiv=\"refresh\" content=\"\(ReportIndex.reloadSeconds)\">\n"
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            \(reload)<title>\(escaped(title))\(data.progress.map { " (running, \($0.done)/\($0.total))" } ?? "") — Loom report</title>
            <style>
            \(ReportIndex.style)
            \(RunTable.style)
            </style>
            </head>
            <body>
            \(body.joined(separator: "\n"))
            <script>
            \(RunTable.script)
            </script>
            </body>
            </html>

            """
    }

    /// An SVG of the report directory in its own scroll box: at its natural size when the page is
    /// wide enough, scaled down to at most three quarters of it, and scrolled beyond that.
    private func picture(_ fileName: String, alt: String) -> String {
        var attributes = "src=\"\(link(fileName))\" alt=\"\(escaped(alt))\""
        if let size = sizes[fileName] {
            let width = Int(size.width.rounded()), height = Int(size.height.rounded())
            attributes += " width=\"\(width)\" height=\"\(height)\" style=\"min-width: \(Int((size.width * 0.75).rounded()))px\""
        }
        return "<div class=\"picture\"><img \(attributes)></div>"
    }

    /// A figure's table of text cells under it ("published vs Loom", a winner figure's winners).
    /// - Parameter class: the table's CSS class, a fixed name.
    private func html(caption text: String, header names: [String], rows cells: [[String]], class name: String) -> String {
        let header: String = "<tr>" + names.map { "<th>\(escaped($0))</th>" }.joined() + "</tr>"
        let rows: [String] = cells.map { row in
            let cells: [String] = row.map { cell in (Double(cell) != nil ? "<td class=\"number\">" : "<td>") + escaped(cell) + "</td>" }
            return "<tr>" + cells.joined() + "</tr>"
        }
        // A paragraph, not a <caption>: a caption is only as wide as the small table.
        let caption: String = "<p class=\"files\">" + escaped(text) + "</p>"
        return ([caption, "<table class=\"\(escaped(name))\">", header] + rows + ["</table>"]).joined(separator: "\n")
    }

    /// Text safe inside HTML elements and attribute values (`Escaping.html`).
    private func escaped(_ text: String) -> String { Escaping.html(text) }

    /// A file of the report directory as an `href` or `src` value: percent-encoded, so it stays a
    /// relative file name (`Escaping.relativeURL`), then entity-escaped.
    private func link(_ fileName: String) -> String { Escaping.html(Escaping.relativeURL(fileName)) }
}
