extension FigureSpec {
    /// What a `winner` figure compares: a metric, and whether less (`minimize: seconds`) or more
    /// (`maximize: gflops`) of it wins.
    public struct Objective: Sendable, Equatable {
        /// Which way the metric wins.
        public enum Direction: String, Sendable, CaseIterable {
            case minimize
            case maximize
        }

        public var direction: Direction
        /// The metric compared.
        public var metric: String

        /// An objective on `metric`.
        public init(_ direction: Direction, _ metric: String) { self.direction = direction; self.metric = metric }

        /// Whether `a` is strictly better than `b`.
        func isBetter(_ a: Double, than b: Double) -> Bool { direction == .minimize ? a < b : a > b }

        /// How many times better `best` is than `other` (≥ 1 when `best` is not worse), e.g. 1.31
        /// for 1.0 s against 1.31 s; nil unless both are positive, where a ratio means nothing.
        func margin(of best: Double, over other: Double) -> Double? {
            guard best > 0, other > 0 else { return nil }
            return direction == .minimize ? other / best : best / other
        }

        /// `least sim.predicted_s` or `most gflops`, for captions.
        var phrase: String { (direction == .minimize ? "least " : "most ") + metric }
    }
}
