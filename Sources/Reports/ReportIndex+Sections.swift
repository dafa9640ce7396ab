/// What both pages (`index.html`, `index.md`) derive from the report the same way.
extension ReportIndex {
    /// The figure's heading on the page. A drawn figure carries its title inside the picture, so
    /// the heading is then its name; only a figure without a picture shows its title here.
    static func heading(_ outcome: FigureOutcome) -> String {
        outcome.state == .drawn ? outcome.figure.name : (outcome.figure.title ?? outcome.figure.name)
    }

    /// `Experiment running: 12 of 48 runs done.`, or nil when it is not running.
    var liveLine: String? {
        data.progress.map { "Experiment running: \($0.done) of \($0.total) runs done." }
    }

    /// The metric and parameter names the figures plot: their columns come first in the run table.
    var figureNames: Set<String> { Set(figures.flatMap { [$0.figure.x] + $0.figure.ys + ($0.figure.objective.map { [$0.metric] } ?? []) }) }
}
