import Tasks

/// A figure's points: runs grouped by (facet, series, x), with the median, minimum and maximum of
/// y over the repeats in each group. Computed by Loom, so the numbers in the `.dat` file are the
/// numbers drawn.
public struct FigureData: Sendable {
    /// One group of runs.
    public struct Point: Sendable, Equatable {
        /// The x value as in the runs.
        public var x: ParameterValue
        /// Where it is drawn: the number itself, or the category's 0-based position for a categorical axis.
        public var position: Double
        public var median: Double
        public var minimum: Double
        public var maximum: Double
        /// How many runs the group holds.
        public var count: Int
    }

    /// The points of one series value, x ascending.
    public struct Series: Sendable {
        /// `threads=1` (or the metric's name when the figure draws several), or nil when the figure has no `series`.
        public var label: String?
        /// What the key shows for it: the value alone (`zigzag ring`, underscores as spaces) or the
        /// metric's declared label; nil without `series`.
        public var legend: String?
        /// 0-based position of the series value among all the figure's series values (its colour).
        public var number: Int
        public var points: [Point]
    }

    /// One panel: a facet value, or the whole figure without `facet`.
    public struct Panel: Sendable {
        /// `causal=true`, or nil when the figure has no `facet`.
        public var label: String?
        public var series: [Series]
    }

    /// A parameter whose runs a figure pools into one point although it neither facets, plots nor
    /// splits them into series: the spread of such a point is (partly) that parameter's effect.
    public struct Pooled: Sendable, Equatable {
        public var parameter: String
        /// Its distinct values among the pooled runs, as written.
        public var values: [String]
    }

    public var panels: [Panel]
    /// The x values when some are not numbers (strings, booleans), in order of first appearance;
    /// empty for a numeric axis.
    public var categories: [String]
    /// Parameters that vary inside some group of the figure, by name.
    public var pooled: [Pooled] = []
    /// Whether the x axis is categorical (drawn at 0, 1, 2, … and labelled with the values).
    public var isCategorical: Bool { !categories.isEmpty }
    /// Whether any group holds more than one value (then error bars are drawn).
    public var hasSpread: Bool { panels.contains { $0.series.contains { $0.points.contains { $0.count > 1 } } } }
    /// Whether there is nothing to draw.
    public var isEmpty: Bool { panels.isEmpty }
    /// The smallest and largest x position drawn, nil without points.
    public var xBounds: (lower: Double, upper: Double)? {
        let xs = panels.flatMap { $0.series.flatMap { $0.points.map(\.position) } }
        guard let lower = xs.min(), let upper = xs.max() else { return nil }
        return (lower, upper)
    }

    /// One (run, metric) with a numeric y: the unit the figure groups.
    struct Row {
        var run: ReportData.Run
        var x: ParameterValue
        var y: Double
        var series: ParameterValue?
        var facet: ParameterValue?
    }

    /// Groups `runs` for `figure`. Only SUCCEEDED and CACHED runs with a numeric y and an x count.
    /// - Parameter metrics: labels the series of a figure with several metrics.
    /// - Complexity: O(n log n) for n runs (times the steps of a curve).
    public init(figure: FigureSpec, runs: [ReportData.Run], metrics: MetricCatalog = MetricCatalog()) {
        // A running run's curve so far is drawn too: the store receives its points as they come.
        let partial = figure.x == FigureData.stepAxis
        let several = figure.ys.count > 1
        var rows: [Row] = []
        for metric in figure.ys {
            let source = partial ? FigureData.expandCurves(runs, metric: metric) : runs
            for run in source where run.status == .succeeded || run.status == .cached || (partial && run.status == .running) {
                guard let y = run.value(metric)?.number, let x = run.value(figure.x) else { continue }
                let series = several ? .string(metric) : figure.series.flatMap { run.value($0) }
                let facet = figure.facet.flatMap { run.value($0) }
                if (figure.series != nil && series == nil) || (figure.facet != nil && facet == nil) { continue }
                rows.append(Row(run: run, x: x, y: y, series: series, facet: facet))
            }
        }
        let numericX = rows.allSatisfy { $0.x.number != nil }
        categories = numericX ? [] : FigureData.ordered(rows.map(\.x)).map(\.description)
        let seriesValues: [ParameterValue?] = several ? figure.ys.map { .string($0) }
            : figure.series == nil ? [nil] : FigureData.ordered(rows.compactMap(\.series))
        let facetValues: [ParameterValue?] = figure.facet == nil ? [nil] : FigureData.ordered(rows.compactMap(\.facet))
        var panels: [Panel] = []
        for facet in facetValues {
            var panel = Panel(label: facet.map { "\(figure.facet!)=\($0)" }, series: [])
            let inPanel = rows.filter { $0.facet == facet }
            for (number, value) in seriesValues.enumerated() {
                let inSeries = inPanel.filter { $0.series == value }
                guard !inSeries.isEmpty else { continue }
                var groups: [ParameterValue: [Double]] = [:]
                for row in inSeries { groups[row.x, default: []].append(row.y) }
                let categories = self.categories
                let points = groups.map { x, ys in
                    let sorted = ys.sorted()
                    return Point(x: x, position: x.number ?? Double(categories.firstIndex(of: x.description) ?? 0),
                                 median: FigureData.median(ofSorted: sorted), minimum: sorted.first!, maximum: sorted.last!, count: sorted.count)
                }.sorted { $0.position < $1.position }
                let label = value.map { several ? $0.description : "\(figure.series!)=\($0)" }
                let legend = value.map { several ? (metrics.spec(for: $0.description)?.label ?? $0.description) : FigureData.legend(for: $0) }
                panel.series.append(Series(label: label, legend: legend, number: number, points: points))
            }
            if !panel.series.isEmpty { panels.append(panel) }
        }
        self.panels = panels
        pooled = FigureData.pooled(rows, figure: figure)
    }

    /// `x: step` draws a stepped metric (a training curve): each run's curve of `y` becomes one
    /// point per step, so repeats of a setting give a median curve with its min–max band.
    public static let stepAxis = "step"

    static func expandCurves(_ runs: [ReportData.Run], metric: String) -> [ReportData.Run] {
        runs.flatMap { run in
            (run.curves[metric] ?? []).map { point in
                var copy = run
                copy.params[stepAxis] = .int(point.step)
                copy.metrics[metric] = .double(point.value)
                copy.curves = [:]
                return copy
            }
        }
    }

    /// The median of ascending `values`: the middle one, or the mean of the two middle ones.
    /// - Precondition: `values` is not empty and sorted ascending.
    public static func median(ofSorted values: [Double]) -> Double {
        precondition(!values.isEmpty, "the median of no values")
        let middle = values.count / 2
        return values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
    }

    /// The distinct values, numerically ascending when all are numbers, `false` before `true`
    /// for booleans, else in order of first appearance (the order the experiment file lists them).
    static func ordered(_ values: [ParameterValue]) -> [ParameterValue] {
        var distinct: [ParameterValue] = []
        var seen: Set<ParameterValue> = []
        for value in values where seen.insert(value).inserted { distinct.append(value) }
        if distinct.allSatisfy({ $0.number != nil }) { return distinct.sorted { $0.number! < $1.number! } }
        if distinct.allSatisfy({ if case .bool = $0 { true } else { false } }) { return distinct.sorted { !($0 == .bool(true)) && $1 == .bool(true) } }
        return distinct
    }
}
