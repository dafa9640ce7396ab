/// The index's table of a winner figure, as text cells: one row per cell with runs, naming the
/// winner in full (the picture shortens it), its median, its margin and the runner-up.
struct WinnerTable {
    let caption: String
    let header: [String]
    let rows: [[String]]

    /// Nil when the figure is not a winner figure or has no cell to list (its problem is shown instead).
    init?(figure: FigureSpec, runs: [ReportData.Run]) {
        guard let objective = figure.objective, let map = try? WinnerMap(figure: figure, runs: runs), !map.isEmpty else { return nil }
        let series = figure.series ?? "series"
        caption = "winners: per cell the \(series) value with the \(objective.phrase) (median over repeats), "
            + "its margin over the runner-up, and the runner-up; a tie lists every tied value."
        header = (figure.facet.map { [$0] } ?? []) + [figure.y, figure.x, series, objective.metric, "margin", "runner-up"]
        rows = map.panels.flatMap { panel in
            panel.cells.map { cell in
                let facet = panel.facet.map { [$0.description] } ?? []
                let winner = cell.winners.map { map.contenders[$0].description }.joined(separator: " = ")
                return facet + [map.rows[cell.row].description, map.columns[cell.column].description,
                                cell.isTie ? "tie: \(winner)" : winner,
                                RunTable.format(.double(cell.best)), cell.margin.map(WinnerMap.marginText) ?? "—",
                                cell.runnerUp.map { map.contenders[$0].description } ?? "none"]
            }
        }
    }
}
