import Experiments
import Tasks

extension ReportData {
    /// The parameter names of the runs shown and of `earlierNames`.
    var parameterNames: Set<String> { Set(runs.flatMap(\.params.keys)).union(earlierNames.parameters) }

    /// The metric names the runs shown reported (final or at steps), with `earlierNames`.
    var metricNames: Set<String> {
        Set(runs.flatMap { Array($0.metrics.keys) + Array($0.curves.keys) }).union(earlierNames.metrics)
    }

    /// Whether a metric no run reported is a misspelt name rather than one not measured yet: some
    /// run finished (SUCCEEDED or CACHED) with metrics, and runs report the same metrics. While
    /// every run is pending, running or failed, a missing metric may still come.
    var reportsMetrics: Bool {
        runs.contains { ($0.status == .succeeded || $0.status == .cached) && !$0.metrics.isEmpty }
    }

    /// Why `figure` cannot be drawn from these runs because a name in it is none of theirs, or nil.
    ///
    /// `x` and `y` name a parameter or a metric (`x: step` too), `series` and `facet` a parameter;
    /// a winner figure's `x` and `y` name parameters and its `minimize`/`maximize` a metric.
    /// A metric is judged only once `reportsMetrics`; a figure whose metric exists but whose runs
    /// all failed is "no data", not an error.
    /// - Parameter number: the figure's 1-based position in `report:`, to name it.
    /// - Returns: `report figure 2 'speed': y: 'gflop' is neither a metric nor a parameter of
    ///   experiment sgemm; did you mean 'gflops'? (metrics: …; parameters: …)`.
    func unknownName(in figure: FigureSpec, number: Int) -> String? {
        let parameters = parameterNames, metrics = metricNames
        var checks: [(key: String, name: String, parameterOnly: Bool)] = []
        if let objective = figure.objective {                      // a winner figure: x and y are parameters (its cells)
            checks += [("x", figure.x, true), ("y", figure.y, true), (objective.direction.rawValue, objective.metric, false)]
        } else {
            if figure.x != FigureData.stepAxis { checks.append(("x", figure.x, false)) }
            for y in figure.ys { checks.append(("y", y, false)) }
        }
        if let series = figure.series { checks.append(("series", series, true)) }
        if let facet = figure.facet { checks.append(("facet", facet, true)) }
        for (key, name, parameterOnly) in checks {
            if parameters.contains(name) || (!parameterOnly && metrics.contains(name)) { continue }
            if runs.isEmpty || (!parameterOnly && !reportsMetrics) { continue }   // nothing to judge by yet
            let candidates = parameterOnly ? parameters.sorted() : (metrics.sorted() + parameters.sorted())
            var message = "report figure \(number) '\(figure.name)': \(key): '\(name)' is "
                + (parameterOnly ? "not a parameter" : "neither a metric nor a parameter") + " of experiment \(experiment)"
            if let near = nearestName(to: name, among: candidates) { message += "; did you mean '\(near)'?" }
            let known = parameterOnly ? [] : ["metrics: " + (metrics.isEmpty ? "none" : metrics.sorted().joined(separator: ", "))]
            message += " (" + (known + ["parameters: " + (parameters.isEmpty ? "none" : parameters.sorted().joined(separator: ", "))])
                .joined(separator: "; ") + ")"
            return message
        }
        return nil
    }

    /// Adds the parameter and metric names of the experiment's runs in other invocations to
    /// `earlierNames`, so a metric that exists but that no run of this invocation reported (they
    /// all failed) still counts as known.
    /// - Complexity: one query per stored run of the experiment: call it only when a name is unknown.
    /// - Throws: `StoreError` when the store cannot be read.
    mutating func learnEarlierNames(from store: ResultsStore) throws(StoreError) {
        for run in try store.runs(experiment: experiment) where run.invocation != invocation {
            earlierNames.parameters.formUnion(ReportData.decodeParams(run.paramsJSON).keys)
            earlierNames.metrics.formUnion(try store.finalMetrics(run: run.id).keys)
        }
    }
}
