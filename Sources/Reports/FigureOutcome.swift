/// What became of one figure of a report.
public struct FigureOutcome: Sendable {
    /// How far the figure got.
    public enum State: Sendable, Equatable {
        /// Drawn: `NAME.svg` and `NAME.pdf` exist next to the `.gp` and `.dat`.
        case drawn
        /// No SUCCEEDED or CACHED run had a numeric y; nothing was written for it.
        case noData
        /// `x`, `y`, `series` or `facet` names nothing the runs have; the message says which and
        /// the nearest known name. Nothing was written for it.
        case unknownName(String)
        /// The runs of one cell of a `winner` figure differ in a parameter it does not show, so
        /// no winner is meaningful; the message names the parameters and the fix. Nothing was written for it.
        case mixedRuns(String)
        /// The `.gp` and `.dat` were written but gnuplot failed; the message names the script and what gnuplot said.
        case failed(String)
    }

    public var figure: FigureSpec
    public var state: State
    /// The files written for it, relative to the report directory.
    public var files: [String]
    /// What a reader must know beside the picture: runs it pools over a parameter it does not
    /// show, published points it does not draw. `loom report` prints them and the index shows them.
    public var notes: [String] = []
}
