/// A standalone gnuplot script that draws one figure from its `.dat` file to `NAME.svg` and
/// `NAME.pdf`. Paths are relative, so `cd reports/EXPERIMENT && gnuplot NAME.gp` redraws it after
/// an edit.
struct GnuplotScript {
    /// Pixels of one panel in the SVG (at 96 dpi, 7.5 × 5 inches in the PDF).
    static let panelWidth = 720, panelHeight = 480
    /// Panels per row of a faceted figure.
    static let maximumColumns = 3
    /// Up to this many distinct numeric x values (a swept parameter) each get a tic.
    static let maximumLabelledValues = 10

    let figure: FigureSpec
    let data: FigureData
    let experiment: String

    /// The script's text.
    var text: String {
        let name = figure.name
        let columns = min(data.panels.count, GnuplotScript.maximumColumns)
        let rows = (data.panels.count + columns - 1) / columns
        let width = columns * GnuplotScript.panelWidth, height = rows * GnuplotScript.panelHeight
        let style: String
        let using: String
        if data.hasSpread {
            style = figure.kind == .line ? "yerrorlines" : "yerrorbars"
            using = "1:2:3:4"                                  // x, median, min, max
        } else {
            style = figure.kind == .line ? "linespoints" : "points"
            using = "1:2"
        }
        let tics = data.isCategorical ? ":xtic(6)" : ""

        var lines = [
            comment("\(name): \(figure.y) against \(figure.x)"
                    + (figure.series.map { ", one line per \($0)" } ?? "") + (figure.facet.map { ", one panel per \($0)" } ?? "") + "."),
            comment("Written by 'loom report' for experiment \(experiment); edit freely, then run: gnuplot \(name).gp"),
            comment("Data: \(name).dat, one index block per (facet, series), columns x median min max count"
                    + (data.isCategorical ? " label" : "")
                    + (figure.reference == nil ? "." : "; then block \(data.blockCount), the published reference points (x y).")),
            comment("Each point is the median over the repeated runs of its group"
                    + (data.hasSpread ? "; error bars span the minimum to the maximum." : " (every group has one run).")),
            comment("Every text is a single-quoted string: gnuplot runs no backquoted command in one."),
            "",
            "set encoding utf8",
            "set key top left noenhanced",
            "set grid",
            "set xlabel \(quoted(figure.xLabel ?? figure.x)) noenhanced",
            "set ylabel \(quoted(figure.yLabel ?? figure.y)) noenhanced",
            "set pointsize 0.8",
        ]
        if data.isCategorical {
            lines += ["# x holds strings: points sit at 0, 1, 2, … and the tics carry the values (column 6).",
                      "set xtics noenhanced",
                      "set xrange [-0.5:\(data.categories.count - 1).5]"]
            if figure.logX { lines.append("# logx is ignored: a categorical axis has no scale.") }
        } else {
            lines += ["# x range from the data, with a margin so the first and last points clear the border.",
                      "set autoscale xfix", "set offsets graph 0.05, graph 0.05, 0, 0"]
            if figure.logX { lines.append("set logscale x") }
            let xs = Set(data.panels.flatMap { $0.series.flatMap { $0.points.map(\.position) } }).sorted()
            if xs.count <= GnuplotScript.maximumLabelledValues {
                lines += ["# a few swept values: a tic at each", "set xtics (" + xs.map(FigureData.number).joined(separator: ", ") + ")"]
            }
        }
        if figure.logY { lines.append("set logscale y") }
        let reference = referencePlot
        lines += reference.comments.map(comment)
        lines += [
            "",
            "do for [format in \"svg pdf\"] {",
            "    if (format eq \"svg\") {",
            "        set terminal svg enhanced size \(width),\(height) font \"Helvetica,12\" background rgb \"white\"",
            "        set output \(quoted("\(name).svg"))",
            "    } else {",
            "        set terminal pdfcairo enhanced size \(inches(width)),\(inches(height)) font \"Helvetica,10\"",
            "        set output \(quoted("\(name).pdf"))",
            "    }",
        ]
        let faceted = figure.facet != nil
        if faceted {
            lines.append("    set multiplot layout \(rows),\(columns)" + (figure.title.map { " title \(quoted($0)) noenhanced" } ?? ""))
        } else {
            lines.append("    set title \(quoted(figure.title ?? "")) noenhanced")
        }
        var block = 0
        for panel in data.panels {
            if let label = panel.label { lines.append("    set title \(quoted(label)) noenhanced") }
            var plots: [String] = []
            for series in panel.series {
                let source = plots.isEmpty ? quoted("\(name).dat") : "''"            // '' is the previous file
                let title = series.label.map { "title \(quoted($0)) noenhanced" } ?? "notitle"
                plots.append("\(source) index \(block) using \(using)\(tics) with \(style) linetype \(series.number + 1) \(title)")
                block += 1
            }
            if let element = reference.element { plots.append(element) }   // every panel, so each compares against it
            lines.append("    plot " + plots.joined(separator: ", \\\n         "))
        }
        if faceted { lines.append("    unset multiplot") }
        lines += ["    set output", "}", ""]
        return lines.joined(separator: "\n")
    }

    /// `pixels` at 96 dpi as a gnuplot length in inches.
    private func inches(_ pixels: Int) -> String { FigureData.number(Double(pixels) / 96) + "in" }

    /// `text` as a gnuplot string (`Escaping.gnuplot`): the one way user text enters the script.
    func quoted(_ text: String) -> String { Escaping.gnuplot(text) }

    /// A `#` comment line of the script; `text` may hold user names (`Escaping.gnuplotComment`).
    func comment(_ text: String) -> String { "# " + Escaping.gnuplotComment(text) }
}
