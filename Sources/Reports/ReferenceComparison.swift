import Tasks

/// Loom's values beside a figure's published reference points: for each point and each line of
/// the figure, the median over repeats at the x nearest the published x.
struct ReferenceComparison: Sendable, Equatable {
    /// Loom's point used for one published point.
    struct Match: Sendable, Equatable {
        /// The x actually used, as in the runs (the nearest one the line has).
        var x: ParameterValue
        /// The median of y over the repeats at that x.
        var median: Double
    }

    /// One published point and Loom's match on each line, in `lines` order.
    struct Row: Sendable, Equatable {
        var published: FigureReference.Point
        var matches: [Match]
    }

    /// Each line's label (`causal=true threads=1`), nil for a figure with one unnamed line; empty without data.
    var lines: [String?]
    var rows: [Row]

    /// Matches every reference point against every (facet, series) line of `data`.
    /// - Complexity: O(r · p) for r reference points and p points in the data.
    init(reference: FigureReference, data: FigureData) {
        let series = data.panels.flatMap { panel in
            panel.series.map { ([panel.label, $0.label].compactMap { $0 }.joined(separator: " ").nonEmpty, $0.points) }
        }
        lines = series.map(\.0)
        rows = reference.points.map { published in
            Row(published: published, matches: series.compactMap { _, points in
                ReferenceComparison.nearest(to: published.x, in: points).map { Match(x: $0.x, median: $0.median) }
            })
        }
    }

    /// The point whose position is nearest `x`; on a tie the one with the smaller x. A categorical
    /// axis compares positions (0, 1, 2, …), as drawn. Nil when there are no points.
    /// - Complexity: O(n).
    static func nearest(to x: Double, in points: [FigureData.Point]) -> FigureData.Point? {
        points.min { a, b in
            let da = abs(a.position - x), db = abs(b.position - x)
            return da < db || (da == db && a.position < b.position)
        }
    }
}
