import Reports

/// A starting notebook for an experiment: a table of its runs and its report's figures, with the
/// prose left to the author. Every value written is quoted for YAML, so no name can break the file.
public enum NotebookTemplate {
    /// - Parameters:
    ///   - swept: the parameters that vary across the runs (the table's groups).
    ///   - metrics: the numeric metrics to tabulate (at most a few).
    public static func make(experiment: String, description: String, state: String, figures: [FigureSpec],
                            swept: [String], metrics: [String]) -> String {
        var lines = ["---", "title: \(quoted(description.isEmpty ? experiment : description))", "state: \(quoted(state))", "---", "",
                     "This notebook reads the results of the experiment \(quoted(experiment)) from the store.",
                     "Write here what it shows; figures are numbered (@fig-…) and tables too (@tbl-…).", ""]
        if !swept.isEmpty || !metrics.isEmpty {
            lines += ["```{loom-table}", "#| label: tbl-runs", "#| caption: The runs, median (min–max) over repeats.",
                      "experiment: \(quoted(experiment))",
                      "columns: [\((swept + metrics).map(quoted).joined(separator: ", "))]"]
            if !swept.isEmpty { lines.append("group_by: [\(swept.map(quoted).joined(separator: ", "))]") }
            lines += ["```", ""]
        }
        for figure in figures {
            lines += ["```{loom-plot}", "#| label: fig-\(figure.name)",
                      "#| caption: \(captionText(figure.title ?? "\(figure.ys.joined(separator: ", ")) against \(figure.x)"))",
                      "experiment: \(quoted(experiment))", "name: \(quoted(figure.name))", "kind: \(figure.kind.rawValue)",
                      "x: \(quoted(figure.x))",
                      figure.alsoY.isEmpty ? "y: \(quoted(figure.y))" : "y: [\(figure.ys.map(quoted).joined(separator: ", "))]"]
            if let series = figure.series { lines.append("series: \(quoted(series))") }
            if let facet = figure.facet { lines.append("facet: \(quoted(facet))") }
            if let objective = figure.objective { lines.append("\(objective.direction.rawValue): \(quoted(objective.metric))") }
            if figure.logX { lines.append("logx: true") }
            if figure.logY { lines.append("logy: true") }
            if let label = figure.xLabel { lines.append("xlabel: \(quoted(label))") }
            if let label = figure.yLabel { lines.append("ylabel: \(quoted(label))") }
            lines += ["```", ""]
        }
        return lines.joined(separator: "\n")
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f { out += String(format: "\\x%02X", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// A caption on one `#|` line.
    static func captionText(_ text: String) -> String {
        text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    }
}
