extension FigureData {
    /// The figure's data as a gnuplot data file: a `#` header naming the columns, then one
    /// index block per (facet, series), blocks separated by two blank lines and each opened by a
    /// comment naming it. Columns: `x median min max count`, plus a quoted `label` for a
    /// categorical x (then x is the category's position). A figure's `reference` is one more
    /// block after those, columns `x y` (the published points as written, even those a log axis skips).
    /// - Parameter figure: the figure the data was grouped for (for the header).
    public func datText(for figure: FigureSpec) -> String {
        // Names and labels come from the experiment file and the runs: comments keep them on one
        // line (Escaping.gnuplotComment), a category label is one quoted field (Escaping.gnuplotDataField).
        let lines = ["# " + Escaping.gnuplotComment("\(figure.name): \(figure.y) against \(figure.x); median, min and max over the runs of each group (written by loom report)"),
                     isCategorical ? "# x median min max count label" : "# x median min max count"]
        var blocks: [String] = []
        var index = 0
        for panel in panels {
            for series in panel.series {
                var block = ["# block \(index): " + Escaping.gnuplotComment([panel.label, series.label].compactMap { $0 }.joined(separator: " ")
                                                                            .nonEmpty ?? "all runs")]
                for point in series.points {
                    var columns = [FigureData.number(point.position), FigureData.number(point.median), FigureData.number(point.minimum),
                                   FigureData.number(point.maximum), String(point.count)]
                    if isCategorical { columns.append(Escaping.gnuplotDataField(point.x.description)) }
                    block.append(columns.joined(separator: " "))
                }
                blocks.append(block.joined(separator: "\n"))
                index += 1
            }
        }
        if let reference = figure.reference {
            blocks.append((["# block \(index): " + Escaping.gnuplotComment("reference: \(reference.label) (published; columns x y)")]
                           + reference.points.map { FigureData.number($0.x) + " " + FigureData.number($0.y) }).joined(separator: "\n"))
        }
        return (lines + [blocks.joined(separator: "\n\n\n")]).joined(separator: "\n") + "\n"
    }

    /// The number of index blocks `datText` writes for the data, so the reference block is index `blockCount`.
    var blockCount: Int { panels.reduce(0) { $0 + $1.series.count } }

    /// A number as gnuplot reads it: integers without a fraction, others in Swift's shortest exact form.
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }
}

extension String {
    /// The string, or nil when it is empty.
    var nonEmpty: String? { isEmpty ? nil : self }
}
