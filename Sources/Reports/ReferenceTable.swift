
/// The index's "published vs Loom" table of a figure with a reference, as text cells: x, the
/// published y, then per line of the figure Loom's median and the x it was taken at.
struct ReferenceTable {
    let label: String
    let header: [String]
    let rows: [[String]]

    /// Nil when the figure has no reference.
    init?(figure: FigureSpec, runs: [ReportData.Run]) {
        guard let reference = figure.reference else { return nil }
        let comparison = ReferenceComparison(reference: reference, data: FigureData(figure: figure, runs: runs))
        label = reference.label
        let lines = comparison.lines
        header = ["x", "published"] + (lines.isEmpty ? ["Loom", "at x"]
                                       : lines.flatMap { line in ["Loom", "at x"].map { $0 + (line.map { " (\($0))" } ?? "") } })
        rows = comparison.rows.map { row in
            let published = [FigureData.number(row.published.x), FigureData.number(row.published.y)]
            guard !lines.isEmpty else { return published + ["no data", "—"] }
            return published + row.matches.flatMap { [RunTable.format(.double($0.median)), $0.x.number.map(FigureData.number) ?? $0.x.description] }
        }
    }

    /// What the table compares, above it.
    var caption: String {
        "published vs Loom: \(label); Loom's value is the median over repeats at the x nearest the published one (at x)."
    }
}
