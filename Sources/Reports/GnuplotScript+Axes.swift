import Foundation

extension GnuplotScript {
    /// Space left beside the first and last x value, as a share of the data's span (of its log
    /// span on a log axis), so edge points and their bars are not cut by the border.
    static let padding = 0.04

    /// The x axis title: the figure's `xlabel`, else the metric's declared label and unit, else the name.
    var xTitle: String { figure.xLabel ?? metrics.axisTitle(for: figure.x) }

    /// The y axis title: the figure's `ylabel`, else the declared `label (unit)` of its metric; for
    /// several metrics (named in the key) their shared unit, else their titles.
    var yTitle: String {
        if let label = figure.yLabel { return label }
        guard figure.ys.count > 1 else { return metrics.axisTitle(for: figure.y) }
        let units = Set(figure.ys.map { metrics.spec(for: $0)?.unit ?? "" })
        if units.count == 1, let unit = units.first, !unit.isEmpty { return unit }
        return figure.ys.map(metrics.axisTitle(for:)).joined(separator: ", ")
    }

    /// The x range: Loom's own data with `padding` on each side (published reference points do
    /// not widen it), or nil for a categorical axis or a log axis without positive values.
    var xRange: (lower: Double, upper: Double)? {
        guard !data.isCategorical else { return nil }
        let xs = data.panels.flatMap { $0.series.flatMap { $0.points.map(\.position) } }.filter { !figure.logX || $0 > 0 }
        guard let lower = xs.min(), let upper = xs.max() else { return nil }
        let shift = dodge.values.map(abs).max() ?? 0                    // dodged markers stay inside too
        if figure.logX {
            let factor = (upper > lower ? pow(upper / lower, GnuplotScript.padding) : 1.2) * pow(10, shift)
            return (lower / factor, upper * factor)
        }
        let margin = (upper > lower ? (upper - lower) * GnuplotScript.padding : max(abs(lower) * 0.1, 1)) + shift
        return (lower - margin, upper + margin)
    }

    /// The axis settings: the x range or categories, tics, log scales, and the y margins.
    var axisLines: [String] {
        var lines: [String] = []
        if data.isCategorical {
            lines += ["# x holds strings: points sit at 0, 1, 2, … and the tics carry the values (column 6).",
                      "set xtics noenhanced",
                      "set xrange [-0.5:\(data.categories.count - 1).5]"]
            if figure.logX { lines.append("# logx is ignored: a categorical axis has no scale.") }
        } else {
            if figure.logX { lines.append("set logscale x") }
            if let range = xRange {
                lines += ["# x range: Loom's data with a margin so the first and last points clear the border; widen it here",
                          "# to show reference points beyond the data (they are drawn only inside [xmin:xmax]).",
                          "xmin = \(FigureData.number(range.lower)); xmax = \(FigureData.number(range.upper))",
                          "set xrange [xmin:xmax]"]
            }
            let xs = Set(data.panels.flatMap { $0.series.flatMap { $0.points.map(\.position) } }).sorted()
            if xs.count <= GnuplotScript.maximumLabelledValues {
                lines += ["# a few swept values: a tic at each", "set xtics (" + xs.map(FigureData.number).joined(separator: ", ") + ")"]
            }
        }
        if figure.logY {
            lines += ["# y range: out to the powers of ten around the data, so the labelled tics frame it.", "set logscale y"]
        } else {
            lines += ["# y range: the data's, with 5 % of the height free above and below so no point touches the border.",
                      "set autoscale yfix", "set offsets 0, 0, graph 0.05, graph 0.05"]
        }
        return lines
    }
}
