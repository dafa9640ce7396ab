import Foundation
import Tasks

extension WinnerMap {
    /// A cell's label is this many characters at most per line, so it fits a cell of a
    /// double-width figure with eight columns.
    static let labelLength = 10

    /// The figure's data as a gnuplot data file: a `#` header naming the contenders and the
    /// columns, then one index block per panel, separated by two blank lines, one row per cell with
    /// runs. Columns: `column row winner best margin x y name margin_label`, then each contender's
    /// median; `winner` is the contender's number, or -1 for a tie; a missing number is `NaN`.
    /// - Parameter figure: the figure the data was grouped for (for the header).
    public func datText(for figure: FigureSpec) -> String {
        // Names and values come from the experiment file and the runs: comments keep them on one
        // line (Escaping.gnuplotComment), labels are one quoted field each (Escaping.gnuplotDataField).
        let objective = figure.objective.map(\.phrase) ?? figure.y
        let contenderList = contenders.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", ")
        let lines = [
            "# " + Escaping.gnuplotComment("\(figure.name): the \(figure.series ?? "series") value with the \(objective) per (\(figure.x), \(figure.y)) "
                                           + "cell; median over the repeats of each setting (written by loom report)"),
            "# " + Escaping.gnuplotComment("contenders (number: value): \(contenderList); winner -1 is a tie within a relative \(WinnerMap.tieTolerance)"),
            "# " + Escaping.gnuplotComment("column row winner best margin x y name margin_label "
                                           + contenders.map { "median(\($0))" }.joined(separator: " ")),
        ]
        let blocks = panels.enumerated().map { number, panel in
            var block = ["# block \(number): " + Escaping.gnuplotComment(panel.label ?? "all runs")]
            for cell in panel.cells {
                let label = self.label(of: cell)
                let numbers = [String(cell.column), String(cell.row), String(cell.isTie ? -1 : cell.winners[0]),
                               FigureData.number(cell.best), cell.margin.map(FigureData.number) ?? "NaN"]
                let texts = [columns[cell.column].description, rows[cell.row].description, label.name, label.margin].map(Escaping.gnuplotDataField)
                block.append((numbers + texts + cell.medians.map { $0.map(FigureData.number) ?? "NaN" }).joined(separator: " "))
            }
            return block.joined(separator: "\n")
        }
        return (lines + [blocks.joined(separator: "\n\n\n")]).joined(separator: "\n") + "\n"
    }

    /// A cell's two label lines: the winner's short name and its margin (`1.31×`); `tie` and the
    /// tied names; `alone` when no other contender ran there; no margin when it is not a ratio.
    func label(of cell: Cell) -> (name: String, margin: String) {
        if cell.isTie {
            return ("tie", WinnerMap.short(cell.winners.map { FigureData.legend(for: contenders[$0]) }.joined(separator: "=")))
        }
        let name = WinnerMap.short(FigureData.legend(for: contenders[cell.winners[0]]))
        guard cell.runnerUp != nil else { return (name, "alone") }
        return (name, cell.margin.map(WinnerMap.marginText) ?? "")
    }

    /// `1.31×`: two decimals, which tell a near tie from a clear win.
    static func marginText(_ margin: Double) -> String { String(format: "%.2f×", margin) }

    /// `text` cut to `labelLength` characters, ending in `…` when cut.
    static func short(_ text: String) -> String {
        text.count <= labelLength ? text : String(text.prefix(labelLength - 1)) + "…"
    }
}
