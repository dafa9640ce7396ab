/// Published values drawn beside a figure's measured data (a paper's numbers beside Loom's).
public struct FigureReference: Sendable, Equatable {
    /// One published point, in the figure's axis units.
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double

        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    /// Names the source in the key and in the index, e.g. `Guo et al. 2024, d = 256`.
    public var label: String
    /// The points in file order; never empty (`ReportSpec.parse` refuses an empty list).
    public var points: [Point]

    public init(label: String, points: [Point]) { self.label = label; self.points = points }
}
