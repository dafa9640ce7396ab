/// One figure of a report: what to plot against what, split how.
public struct FigureSpec: Sendable, Equatable {
    /// How points are drawn.
    public enum Kind: String, Sendable, CaseIterable {
        /// Points joined by lines, in x order.
        case line
        /// Points only.
        case scatter
        /// A crossover map: a grid of (x, y) parameter cells, each coloured by the `series` value
        /// that wins there on the figure's `objective`.
        case winner
    }

    /// Names the figure's files (`NAME.svg`, `.pdf`, `.gp`, `.dat`): letters, digits, `-`, `_`.
    public var name: String
    public var kind: Kind
    /// A parameter or metric name for the horizontal axis (a parameter, the columns, for `winner`).
    public var x: String
    /// A metric (or parameter) name for the vertical axis: the first when the figure has several.
    /// For a `winner` figure, the parameter whose values are the rows.
    public var y: String
    /// Further metrics drawn on the same axes (`y: [a, b]`): each is one series, named in the key
    /// by its label. A figure with them has no `series`.
    public var alsoY: [String]
    /// A parameter with one line (one colour) per value; for `winner`, the values that compete.
    public var series: String?
    /// A parameter with one panel per value.
    public var facet: String?
    public var logX: Bool
    public var logY: Bool
    public var title: String?
    /// The x axis label; `x` when nil.
    public var xLabel: String?
    /// The y axis label; `y` when nil.
    public var yLabel: String?
    /// Published points drawn beside the data and compared with it in the index.
    public var reference: FigureReference?
    /// The physical size preset; nil picks `FigureSize.automatic(panels:)`.
    public var size: FigureSize?
    /// What a `winner` figure compares (`minimize:` or `maximize:` a metric); nil for other kinds.
    public var objective: Objective?

    /// Every metric on the y axis, `y` first.
    public var ys: [String] { [y] + alsoY }

    /// A figure with the defaults of the `report:` format (a line plot, linear axes, labels from the names).
    public init(name: String, kind: Kind = .line, x: String, y: String, series: String? = nil, facet: String? = nil,
                logX: Bool = false, logY: Bool = false, title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
                reference: FigureReference? = nil, alsoY: [String] = [], size: FigureSize? = nil, objective: Objective? = nil) {
        self.name = name; self.kind = kind; self.x = x; self.y = y; self.series = series; self.facet = facet
        self.logX = logX; self.logY = logY; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        self.reference = reference; self.alsoY = alsoY; self.size = size; self.objective = objective
    }
}
