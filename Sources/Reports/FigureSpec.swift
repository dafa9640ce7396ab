/// One figure of a report: what to plot against what, split how.
public struct FigureSpec: Sendable, Equatable {
    /// How points are drawn.
    public enum Kind: String, Sendable, CaseIterable {
        /// Points joined by lines, in x order.
        case line
        /// Points only.
        case scatter
    }

    /// Names the figure's files (`NAME.svg`, `.pdf`, `.gp`, `.dat`): letters, digits, `-`, `_`.
    public var name: String
    public var kind: Kind
    /// A parameter or metric name for the horizontal axis.
    public var x: String
    /// A metric (or parameter) name for the vertical axis.
    public var y: String
    /// A parameter with one line (one colour) per value.
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

    /// A figure with the defaults of the `report:` format (a line plot, linear axes, labels from the names).
    public init(name: String, kind: Kind = .line, x: String, y: String, series: String? = nil, facet: String? = nil,
                logX: Bool = false, logY: Bool = false, title: String? = nil, xLabel: String? = nil, yLabel: String? = nil,
                reference: FigureReference? = nil) {
        self.name = name; self.kind = kind; self.x = x; self.y = y; self.series = series; self.facet = facet
        self.logX = logX; self.logY = logY; self.title = title; self.xLabel = xLabel; self.yLabel = yLabel
        self.reference = reference
    }
}
