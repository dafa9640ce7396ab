import Tasks

extension GnuplotScript {
    /// Colours of the contenders of a winner figure: the line colours without their grey, which
    /// marks ties. A contender keeps its colour in every panel.
    static let winnerColours = Array(colours.dropLast())
    static let tieColour = "#999999"
    /// Half the width and height of a cell: a thin white gap shows where one cell ends.
    static let cellHalfSize = 0.47

    /// A standalone script that draws a winner figure from its `.dat` file to `NAME.svg` and
    /// `NAME.pdf`: one panel per facet value, a filled cell per (x, y) with runs, coloured by its
    /// winner and labelled with its name and margin, and a key of every contender.
    /// - Parameters:
    ///   - map: the figure's data, as `datText` wrote it.
    ///   - metrics: labels and units, for axis titles the figure does not set.
    static func winnerText(figure: FigureSpec, map: WinnerMap, experiment: String, metrics: MetricCatalog = MetricCatalog()) -> String {
        let name = figure.name, size = figure.size ?? FigureSize.automatic(panels: map.panels.count)
        let columns = min(map.panels.count, size.maximumColumns)
        let panelRows = (map.panels.count + columns - 1) / columns
        let width = size.width, height = Double(panelRows) * size.rowHeight
        func quoted(_ text: String) -> String { Escaping.gnuplot(text) }
        func comment(_ text: String) -> String { "# " + Escaping.gnuplotComment(text) }
        func tics(_ values: [ParameterValue]) -> String {
            "(" + values.enumerated().map { "\(quoted($0.element.description)) \($0.offset)" }.joined(separator: ", ") + ")"
        }
        let objective = figure.objective.map(\.phrase) ?? "?"
        var lines = [
            comment("\(name): per (\(figure.x), \(figure.y)) cell, the \(figure.series ?? "series") value with the \(objective)"
                    + (figure.facet.map { ", one panel per \($0)" } ?? "") + "."),
            comment("Written by 'loom report' for experiment \(experiment); edit freely, then run: gnuplot \(name).gp"),
            comment("Data: \(name).dat, one index block per panel, one row per cell with runs; columns column row winner best margin "
                    + "x y name margin_label, then each contender's median. Cells without runs are left blank."),
            comment("Each median is over the repeated runs of its setting; 'winner' is the contender's number, -1 a tie "
                    + "(medians within a relative \(WinnerMap.tieTolerance))."),
            comment("Every text is a single-quoted string: gnuplot runs no backquoted command in one."),
            comment("Size: \(size.rawValue) (\(FigureData.number(width)) × \(FigureData.number(height)) in, \(size.points) pt text); "
                    + "for another size change the two 'set terminal' lines."),
            "",
            "set encoding utf8",
            "# x and y are categories: cells sit at 0, 1, 2, … in sorted order and the tics carry the values.",
            "set xrange [-0.5:\(map.columns.count - 1).5]",
            "set yrange [-0.5:\(map.rows.count - 1).5]",
            "set xtics \(tics(map.columns)) noenhanced",
            "set ytics \(tics(map.rows)) noenhanced",
            "set tics scale 0",
            "set xlabel \(quoted(figure.xLabel ?? metrics.axisTitle(for: figure.x))) noenhanced",
            "set ylabel \(quoted(figure.yLabel ?? metrics.axisTitle(for: figure.y))) noenhanced",
            "# The key lists every contender, winning or not, under the plot.",
            "set key outside below center horizontal noenhanced samplen 1 title \(quoted(figure.series ?? ""))",
            "# Fill density below 1 lightens the colours so the black cell labels stay readable.",
            "set style fill solid 0.45 noborder",
            "",
        ] + formatLoopHead(name: name, width: width, height: height, size: size) { svg in ["        labelfont = \(FigureStyle.font(points: size.points - 1, svg: svg))"] }
        if figure.facet != nil {
            lines.append("    set multiplot layout \(panelRows),\(columns)" + (figure.title.map { " title \(quoted($0)) noenhanced" } ?? ""))
        } else {
            lines.append("    set title \(quoted(figure.title ?? "")) noenhanced")
        }
        let entries = map.contenders.enumerated().map { ($0.offset, winnerColours[$0.offset % winnerColours.count], FigureData.legend(for: $0.element)) }
            + (map.hasTie ? [(-1, tieColour, "tie")] : [])
        let half = FigureData.number(cellHalfSize)
        for (block, panel) in map.panels.enumerated() {
            if let label = panel.label { lines.append("    set title \(quoted(label)) noenhanced") }
            var plots = entries.enumerated().map { offset, entry in
                // Only the cells this entry wins have a y; the others are NaN, which gnuplot skips.
                (offset == 0 ? quoted("\(name).dat") : "''") + " index \(block) using 1:(column(3) == \(entry.0) ? column(2) : NaN):(\(half)):(\(half)) "
                    + "with boxxyerror linecolor rgb \"\(entry.1)\" title \(quoted(entry.2))"
            }
            plots += ["'' index \(block) using 1:2:8 with labels offset 0,0.45 font labelfont noenhanced notitle",
                      "'' index \(block) using 1:2:9 with labels offset 0,-0.45 font labelfont noenhanced notitle"]
            lines.append("    plot " + plots.joined(separator: ", \\\n         "))
        }
        if figure.facet != nil { lines.append("    unset multiplot") }
        lines += ["    set output", "}", ""]
        return lines.joined(separator: "\n")
    }

    /// `inches` as SVG pixels.
    private static func pixels(_ inches: Double) -> Int { Int((inches * FigureStyle.svgPixelsPerInch).rounded()) }
}
