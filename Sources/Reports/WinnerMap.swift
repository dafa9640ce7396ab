import Tasks

/// A `winner` figure's data (a crossover map): for each (facet, y, x) cell, the `series` value
/// whose median of the objective metric over its repeats is best there, and by how much it beats
/// the runner-up. Computed by Loom, so the `.dat` file and the index table hold what is drawn.
public struct WinnerMap: Sendable {
    /// Medians closer than this, relative to the larger magnitude, are a tie: a simulator's
    /// schedules with equal costs differ only by rounding in their sums.
    public static let tieTolerance = 1e-9

    /// One cell with runs; cells without runs are absent (drawn blank).
    public struct Cell: Sendable, Equatable {
        /// 0-based position of the cell's x value in `columns`, and of its y value in `rows`.
        public var column: Int
        public var row: Int
        /// Each contender's median in the cell, by its number (position in `contenders`); nil
        /// where it has no run.
        public var medians: [Double?]
        /// Each contender's number of pooled runs in the cell (0 where it has none).
        public var counts: [Int]
        /// The contenders tied for best, ascending: one, unless the cell is a tie.
        public var winners: [Int]
        /// The best contender outside `winners`, nil when every contender in the cell is a winner.
        public var runnerUp: Int?
        /// The winners' median over the runner-up's as a factor ≥ 1 (`Objective.margin`); nil
        /// without a runner-up, or when a median is not positive.
        public var margin: Double?

        public var isTie: Bool { winners.count > 1 }
        /// The winning median (the first winner's).
        public var best: Double { medians[winners[0]]! }
    }

    /// One panel: a facet value, or the whole figure without `facet`.
    public struct Panel: Sendable {
        /// `link_gbps=25`, or nil when the figure has no `facet`.
        public var label: String?
        /// The facet value, nil without `facet`.
        public var facet: ParameterValue?
        /// The cells with runs, row by row (y ascending), each row by column (x ascending).
        public var cells: [Cell]
    }

    /// A parameter that takes several values among the runs of one cell and contender (in one
    /// repetition): their median would mix settings, so the winner would mean nothing.
    public struct MixedRuns: Error, Sendable {
        public var parameters: [FigureData.Pooled]

        /// `report figure 1 'crossover': …`: what differs and how to fix it.
        func message(figure: FigureSpec, number: Int) -> String {
            let what = parameters.map { "\($0.parameter) (\($0.values.prefix(6).joined(separator: ", "))\($0.values.count > 6 ? ", …" : ""))" }
            return "report figure \(number) '\(figure.name)': runs of one cell and \(figure.series ?? "series") value differ in "
                + what.joined(separator: "; ") + ", so a winner would compare mixed settings; make "
                + (parameters.count == 1 ? "it the figure's 'facet'" : "one of them the figure's 'facet'") + " or fix "
                + (parameters.count == 1 ? "its value" : "their values") + " in the experiment"
        }
    }

    /// The x values, the columns (numbers ascending, else as `FigureData.ordered` orders them).
    public var columns: [ParameterValue]
    /// The y values, the rows, ordered like `columns`; row 0 is drawn at the bottom.
    public var rows: [ParameterValue]
    /// The series values that compete; a contender's number is its colour in every panel.
    public var contenders: [ParameterValue]
    public var panels: [Panel]
    /// Whether no cell has a run.
    public var isEmpty: Bool { panels.isEmpty }
    /// Whether some cell is a tie (the key then has a `tie` entry).
    public var hasTie: Bool { panels.contains { $0.cells.contains(where: \.isTie) } }

    /// Groups `runs` for a `winner` figure. Only SUCCEEDED and CACHED runs with a numeric metric
    /// and all of x, y, series (and facet) count; repeats of a setting are pooled by their median.
    /// - Throws: `MixedRuns` when runs of one cell and contender differ in another parameter.
    /// - Precondition: `figure` is a winner figure with an objective and a series (`ReportSpec.parse` checks it).
    /// - Complexity: O(n log n) for n runs.
    public init(figure: FigureSpec, runs: [ReportData.Run]) throws(MixedRuns) {
        guard let objective = figure.objective, let seriesName = figure.series else {
            preconditionFailure("figure '\(figure.name)' is not a winner figure with an objective and a series")
        }
        struct Row { var run: ReportData.Run; var value: Double; var x, y, series: ParameterValue; var facet: ParameterValue? }
        var rows: [Row] = []
        for run in runs where run.status == .succeeded || run.status == .cached {
            guard let value = run.value(objective.metric)?.number, let x = run.value(figure.x), let y = run.value(figure.y),
                  let series = run.value(seriesName) else { continue }
            let facet = figure.facet.flatMap { run.value($0) }
            if figure.facet != nil && facet == nil { continue }
            rows.append(Row(run: run, value: value, x: x, y: y, series: series, facet: facet))
        }
        let mixed = WinnerMap.mixed(rows.map { ($0.run, [$0.facet, $0.y, $0.x, $0.series]) },
                                    own: Set([figure.x, figure.y, seriesName] + (figure.facet.map { [$0] } ?? [])))
        guard mixed.isEmpty else { throw MixedRuns(parameters: mixed) }
        let columns = FigureData.ordered(rows.map(\.x)), ys = FigureData.ordered(rows.map(\.y))
        let contenders = FigureData.ordered(rows.map(\.series))
        let facets: [ParameterValue?] = figure.facet == nil ? [nil] : FigureData.ordered(rows.compactMap(\.facet))
        var values: [[ParameterValue?]: [Double]] = [:]                // (facet, y, x, series) → the repeats' values
        for row in rows { values[[row.facet, row.y, row.x, row.series], default: []].append(row.value) }
        panels = facets.compactMap { facet in
            var cells: [Cell] = []
            for (rowNumber, y) in ys.enumerated() {
                for (columnNumber, x) in columns.enumerated() {
                    let pooled = contenders.map { values[[facet, y, x, $0]]?.sorted() }
                    guard pooled.contains(where: { $0 != nil }) else { continue }
                    cells.append(WinnerMap.cell(column: columnNumber, row: rowNumber, medians: pooled.map { $0.map(FigureData.median(ofSorted:)) },
                                                counts: pooled.map { $0?.count ?? 0 }, objective: objective))
                }
            }
            return cells.isEmpty ? nil : Panel(label: facet.map { "\(figure.facet!)=\($0)" }, facet: facet, cells: cells)
        }
        self.columns = columns; self.rows = ys; self.contenders = contenders
    }

    /// Ranks a cell's contenders by their medians: the best ones within `tieTolerance` of each other win.
    static func cell(column: Int, row: Int, medians: [Double?], counts: [Int], objective: FigureSpec.Objective) -> Cell {
        let present = medians.indices.filter { medians[$0] != nil }
        let best = present.dropFirst().reduce(present[0]) { objective.isBetter(medians[$1]!, than: medians[$0]!) ? $1 : $0 }
        let bestValue = medians[best]!
        func ties(_ value: Double) -> Bool { abs(value - bestValue) <= tieTolerance * max(abs(value), abs(bestValue)) }
        let winners = present.filter { ties(medians[$0]!) }
        let others = present.filter { !winners.contains($0) }
        let runnerUp = others.dropFirst().reduce(others.first) { objective.isBetter(medians[$1]!, than: medians[$0!]!) ? $1 : $0 }
        return Cell(column: column, row: row, medians: medians, counts: counts, winners: winners, runnerUp: runnerUp,
                    margin: runnerUp.flatMap { objective.margin(of: bestValue, over: medians[$0]!) })
    }

    /// The parameters other than `own` that differ among runs of one group and repetition (repeats
    /// differ in their seed by design), as `FigureData.pooled` finds them for line figures.
    static func mixed(_ runs: [(run: ReportData.Run, group: [ParameterValue?])], own: Set<String>) -> [FigureData.Pooled] {
        var groups: [[ParameterValue?]: [[String: ParameterValue]]] = [:]
        for (run, group) in runs { groups[group + [.int(run.repetition)], default: []].append(run.params) }
        var values: [String: [ParameterValue?]] = [:]
        for params in groups.values where params.count > 1 {
            for name in Set(params.flatMap(\.keys)).subtracting(own) {
                let seen = params.map { $0[name] }
                if Set(seen).count > 1 { values[name, default: []] += seen }
            }
        }
        return values.keys.sorted().map { name in
            let present = FigureData.ordered(values[name]!.compactMap { $0 }).map(\.description)
            return FigureData.Pooled(parameter: name, values: present + (values[name]!.contains(nil) ? ["(unset)"] : []))
        }
    }
}
