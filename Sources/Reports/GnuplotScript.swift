import Tasks

/// A standalone gnuplot script that draws one figure from its `.dat` file to `NAME.svg` and
/// `NAME.pdf`. Paths are relative, so `cd reports/EXPERIMENT && gnuplot NAME.gp` redraws it after
/// an edit.
struct GnuplotScript {
    /// Up to this many distinct numeric x values (a swept parameter) each get a tic.
    static let maximumLabelledValues = 10

    let figure: FigureSpec
    let data: FigureData
    let experiment: String
    /// Labels and units of the metrics, for the axis titles a figure does not set.
    var metrics = MetricCatalog()

    /// The size preset the figure is drawn at.
    var size: FigureSize { figure.size ?? FigureSize.automatic(panels: data.panels.count) }

    /// The script's text.
    var text: String {
        let name = figure.name
        let columns = min(data.panels.count, size.maximumColumns)
        let rows = (data.panels.count + columns - 1) / columns
        let width = size.width, height = Double(rows) * size.rowHeight
        let style: String
        let using: String
        if data.hasSpread {
            style = figure.kind == .line ? "yerrorlines" : "yerrorbars"
            using = ":2:3:4"                                   // x, median, min, max
        } else {
            style = figure.kind == .line ? "linespoints" : "points"
            using = ":2"
        }
        let dodge = self.dodge
        let tics = data.isCategorical ? ":xtic(6)" : ""

        var lines = [
            comment("\(name): \(figure.ys.joined(separator: ", ")) against \(figure.x)"
                    + (figure.series.map { ", one line per \($0)" } ?? "") + (figure.facet.map { ", one panel per \($0)" } ?? "") + "."),
            comment("Written by 'loom report' for experiment \(experiment); edit freely, then run: gnuplot \(name).gp"),
            comment("Data: \(name).dat, one index block per (facet, series), columns x median min max count"
                    + (data.isCategorical ? " label" : "")
                    + (figure.reference == nil ? "." : "; then block \(data.blockCount), the published reference points (x y).")),
            comment("Each point is the median over the repeated runs of its group"
                    + (data.hasSpread ? "; error bars span the minimum to the maximum." : " (every group has one run).")),
            comment("Every text is a single-quoted string: gnuplot runs no backquoted command in one."),
            comment("Size: \(size.rawValue) (\(FigureData.number(width)) × \(FigureData.number(height)) in, \(size.points) pt text); "
                    + "for another size change the two 'set terminal' lines, for a paper keep the PDF at 100 %."),
            "",
            "set encoding utf8",
        ]
        lines += keyLines
        lines += ["set style line 100 linecolor rgb \"#d9d9d9\" linewidth 0.5", "set grid linestyle 100", "set border 3", "set tics nomirror",
                  "set xlabel \(quoted(xTitle)) noenhanced", "set ylabel \(quoted(yTitle)) noenhanced", "set pointsize 0.7"]
        lines += GnuplotScript.palette
        lines += axisLines
        let reference = referencePlot
        lines += reference.comments.map(comment)
        if !dodge.isEmpty {
            lines += ["# Some series have nearly equal values: each series' markers are shifted a little along x (the",
                      "# expression before :2) so none hides another; the .dat holds the true x. Use 'using 1:2…' to undo."]
        }
        lines += [
            "",
        ] + Self.formatLoopHead(name: name, width: width, height: height, size: size)
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
            let merged = GnuplotScript.identicalGroups(panel.series)
            for (offset, series) in panel.series.enumerated() {
                defer { block += 1 }
                guard let group = merged[offset] else {                  // drawn by the first of its identical group
                    lines.append("    # block \(block) (\(commentText(series.label))) equals an earlier series and is drawn by it")
                    continue
                }
                let source = plots.isEmpty ? quoted("\(name).dat") : "''"            // '' is the previous file
                let legend = GnuplotScript.legend(of: group, in: panel)
                let title = legend.isEmpty ? (reference.element == nil ? "notitle" : "title 'Loom' noenhanced")
                    : "title \(quoted(legend)) noenhanced"
                let linetype = series.number % GnuplotScript.colours.count + 1
                plots.append("\(source) index \(block) using \(dodgedX(dodge[series.number]))\(using)\(tics) with \(style) linetype \(linetype) \(title)")
            }
            if let element = reference.element { plots.append(element) }   // every panel, so each compares against it
            lines.append("    plot " + plots.joined(separator: ", \\\n         "))
        }
        if faceted { lines.append("    unset multiplot") }
        lines += ["    set output", "}", ""]
        return lines.joined(separator: "\n")
    }

    /// The key: outside the plot area, titled with the series parameter; right of the plot when
    /// its entries are short enough to leave the plot most of the width, else below it. None when
    /// there is a single unnamed line.
    private var keyLines: [String] {
        let entries = data.panels.flatMap { panel in GnuplotScript.identicalGroups(panel.series).values.map { GnuplotScript.legend(of: $0, in: panel) } }
            .filter { !$0.isEmpty } + (figure.reference.map { [$0.label, "Loom"] } ?? [])
        guard !entries.isEmpty else { return ["unset key"] }
        let longest = (entries + [figure.series ?? ""]).map(\.count).max() ?? 0
        let columns = min(data.panels.count, size.maximumColumns)
        // About 12 average characters fit an inch at 9 pt; the key may take a third of a panel.
        let fits = Double(longest) <= size.width / Double(columns) / 3 * 12 * 9 / Double(size.points)
        let title = figure.series.map { " title \(quoted($0))" } ?? ""
        if fits {
            return ["# The key sits right of the plot, off the data; 'set key inside top left' puts it on the axes.",
                    "set key outside right top vertical noenhanced samplen 2\(title)"]
        }
        // The offset and height keep the key's title clear of the x axis title above it.
        return ["# The key sits below the plot, off the data; 'set key inside top left' puts it on the axes.",
                "set key outside below center horizontal noenhanced samplen 2\(title)" + (title.isEmpty ? "" : " offset 0,-0.5 height 1")]
    }

    /// For each series of a panel, the series drawn with it (itself first) when it is the first of
    /// a group with equal points, or nil when an earlier series stands for it.
    static func identicalGroups(_ series: [FigureData.Series]) -> [Int: [Int]] {
        var groups: [Int: [Int]] = [:], taken: Set<Int> = []
        for (offset, first) in series.enumerated() where !taken.contains(offset) {
            let equal = series.indices.filter { $0 > offset && !taken.contains($0) && series[$0].points == first.points }
            groups[offset] = [offset] + equal
            taken.formUnion(equal)
        }
        return groups
    }

    /// The key text of a group of identical series: `ring = zigzag ring = ulysses`.
    static func legend(of group: [Int], in panel: FigureData.Panel) -> String {
        group.compactMap { panel.series[$0].legend }.joined(separator: " = ")
    }

    /// Colour-blind safe colours (Okabe and Ito) with filled markers, one per series; black is
    /// left for the published reference.
    static let colours = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999"]
    static let markers = [7, 5, 9, 11, 13, 15, 7]
    static var palette: [String] {
        zip(colours, markers).enumerated().map { "set linetype \($0.offset + 1) linecolor rgb \"\($0.element.0)\" pointtype \($0.element.1)" }
    }

    /// `inches` as SVG pixels.
    private func pixels(_ inches: Double) -> Int { Int((inches * FigureStyle.svgPixelsPerInch).rounded()) }

    private func commentText(_ text: String?) -> String { Escaping.gnuplotComment(text ?? "all runs") }

    /// `text` as a gnuplot string (`Escaping.gnuplot`): the one way user text enters the script.
    func quoted(_ text: String) -> String { Escaping.gnuplot(text) }

    /// A `#` comment line of the script; `text` may hold user names (`Escaping.gnuplotComment`).
    func comment(_ text: String) -> String { "# " + Escaping.gnuplotComment(text) }
}

extension GnuplotScript {
    /// The opening of the loop that draws a figure once as SVG and once as PDF: each format's
    /// terminal (`width` × `height` inches) and output, and `perFormat(svg)` lines after each.
    static func formatLoopHead(name: String, width: Double, height: Double, size: FigureSize,
                               _ perFormat: (_ svg: Bool) -> [String] = { _ in [] }) -> [String] {
        let pixels = { (inches: Double) in Int((inches * FigureStyle.svgPixelsPerInch).rounded()) }
        return ["do for [format in \"svg pdf\"] {",
                "    if (format eq \"svg\") {",
                "        set terminal svg enhanced size \(pixels(width)),\(pixels(height)) font \(FigureStyle.font(points: size.points, svg: true)) "
                    + "linewidth 1.5 background rgb \"white\"",
                "        set output \(Escaping.gnuplot("\(name).svg"))"]
            + perFormat(true)
            + ["    } else {",
               "        set terminal pdfcairo enhanced size \(FigureData.number(width))in,\(FigureData.number(height))in "
                + "font \(FigureStyle.font(points: size.points, svg: false)) linewidth 1.5",
               "        set output \(Escaping.gnuplot("\(name).pdf"))"]
            + perFormat(false)
            + ["    }"]
    }
}
