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
        /// `threads=1`, or nil when the figure has no `series`.
        public var label: String?
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

    public var panels: [Panel]
    /// The x values when some are not numbers (strings, booleans), in order of first appearance;
    /// empty for a numeric axis.
    public var categories: [String]
    /// Whether the x axis is categorical (drawn at 0, 1, 2, … and labelled with the values).
    public var isCategorical: Bool { !categories.isEmpty }
    /// Whether any group holds more than one value (then error bars are drawn).
    public var hasSpread: Bool { panels.contains { $0.series.contains { $0.points.contains { $0.count > 1 } } } }
    /// Whether there is nothing to draw.
    public var isEmpty: Bool { panels.isEmpty }

    /// Groups `runs` for `figure`. Only SUCCEEDED and CACHED runs with a numeric y and an x count.
    /// - Complexity: O(n log n) for n runs.
    public init(figure: FigureSpec, runs: [ReportData.Run]) {
        let runs = figure.x == FigureData.stepAxis ? FigureData.expandCurves(runs, metric: figure.y) : runs
        // A running run's curve so far is drawn too: the store receives its points as they come.
        let partial = figure.x == FigureData.stepAxis
        let usable = runs.filter { run in
            (run.status == .succeeded || run.status == .cached || (partial && run.status == .running))
                && run.value(figure.y)?.number != nil && run.value(figure.x) != nil
        }
        let xs = usable.map { $0.value(figure.x)! }
        let numericX = xs.allSatisfy { $0.number != nil }
        categories = numericX ? [] : FigureData.ordered(xs).map(\.description)
        let seriesValues = figure.series.map { name in FigureData.ordered(usable.compactMap { $0.value(name) }) } ?? []
        let facetValues: [ParameterValue?] = figure.facet.map { name in FigureData.ordered(usable.compactMap { $0.value(name) }) } ?? [nil]
        var panels: [Panel] = []
        for facet in facetValues {
            var panel = Panel(label: facet.map { "\(figure.facet!)=\($0)" }, series: [])
            let inPanel = usable.filter { run in facet.map { run.value(figure.facet!) == $0 } ?? true }
            let seriesHere: [ParameterValue?] = figure.series == nil ? [nil] : seriesValues
            for (number, value) in seriesHere.enumerated() {
                let inSeries = inPanel.filter { run in value.map { run.value(figure.series!) == $0 } ?? true }
                guard !inSeries.isEmpty else { continue }
                var groups: [ParameterValue: [Double]] = [:]
                for run in inSeries { groups[run.value(figure.x)!, default: []].append(run.value(figure.y)!.number!) }
                let categories = self.categories
                let points = groups.map { x, ys in
                    let sorted = ys.sorted()
                    return Point(x: x, position: x.number ?? Double(categories.firstIndex(of: x.description) ?? 0),
                                 median: FigureData.median(ofSorted: sorted), minimum: sorted.first!, maximum: sorted.last!, count: sorted.count)
                }.sorted { $0.position < $1.position }
                panel.series.append(Series(label: value.map { "\(figure.series!)=\($0)" }, number: number, points: points))
            }
            if !panel.series.isEmpty { panels.append(panel) }
        }
        self.panels = panels
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
