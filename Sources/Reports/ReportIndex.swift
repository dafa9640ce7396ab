import Tasks
/// The front page of a report (`index.md`, `index.html`): the experiment, its status counts, each
/// figure, the table of runs and the provenance.
struct ReportIndex {
    let data: ReportData
    let figures: [FigureOutcome]
    /// Remarks for the reader, such as why there are no figures.
    let notes: [String]
    /// Graphs runs left as SVG artifacts (mechanism graphs), copied next to the index.
    var graphs: [Graph] = []
    /// The natural size of each SVG file shown (figures and graphs), by file name; a file missing
    /// here (its size unreadable) may shrink with the page like any image.
    var sizes: [String: SVGSize] = [:]
    /// Labels and units of the metrics in the run table's header.
    var metrics = MetricCatalog()
    /// Seconds between the reloads of a live page (`ReportData.progress`).
    static let reloadSeconds = 5

    struct Graph: Sendable, Equatable {
        var run: Int64
        var title: String
        var svg: String
        var pdf: String?
    }

    var title: String { data.experiment }

    /// `12 SUCCEEDED, 2 CACHED, 1 FAILED`, or `no runs`.
    var countsLine: String {
        let counts = data.statusCounts
        return counts.isEmpty ? "no runs" : counts.map { "\($0.count) \($0.status.rawValue)" }.joined(separator: ", ")
    }

    /// What the figure shows, for its caption.
    static func caption(_ figure: FigureSpec) -> String {
        if let objective = figure.objective {
            return "per (\(figure.xLabel ?? figure.x), \(figure.yLabel ?? figure.y)) cell, the \(figure.series ?? "series") value with the "
                + "\(objective.phrase) (median over repeats) and its margin over the runner-up"
                + (figure.facet.map { ", one panel per \($0)" } ?? "") + "; cells without runs are blank."
        }
        var text = "\(figure.yLabel ?? figure.ys.joined(separator: " and ")) against \(figure.xLabel ?? figure.x)"
        if let series = figure.series { text += ", one line per \(series)" }
        if let facet = figure.facet { text += ", one panel per \(facet)" }
        return text + "; median over repeats, bars from min to max."
    }

    /// Why a figure shows no picture, and what its reader must know beside it (`FigureOutcome.notes`);
    /// nil when it was drawn and has no notes.
    static func problem(_ outcome: FigureOutcome) -> String? {
        let notes = outcome.notes.map { "Note: " + $0 }
        guard let state = stateProblem(outcome) else { return notes.isEmpty ? nil : notes.joined(separator: " ") }
        return ([state] + notes).joined(separator: " ")
    }

    private static func stateProblem(_ outcome: FigureOutcome) -> String? {
        switch outcome.state {
        case .drawn: nil
        case .noData:
            if let objective = outcome.figure.objective {
                "No SUCCEEDED or CACHED run has a numeric '\(objective.metric)' and all of '\(outcome.figure.x)', '\(outcome.figure.y)' and "
                    + "'\(outcome.figure.series ?? "")', so there is nothing to draw."
            } else {
                "No SUCCEEDED or CACHED run (or, for a curve, RUNNING run) has a numeric '\(outcome.figure.y)' (and a '\(outcome.figure.x)'), so there is nothing to draw."
            }
        case let .failed(message): "gnuplot could not draw it: \(message)"
        case let .unknownName(message), let .mixedRuns(message): "Not drawn: \(message)."
        }
    }
}
