import Experiments
import Tasks

extension ReportData {
    /// Report data held in memory: a command's own results (`loom sim validate --report`), drawn
    /// with the same figures and index as a stored experiment's, without a store.
    public init(experiment: String, description: String, runs: [Run], provenance: [(String, String)]) {
        self.init(experiment: experiment, description: description, file: "", invocation: nil, runs: runs, provenance: provenance)
    }
}

extension ReportData.Run {
    /// A succeeded run numbered `id`, with its parameters and metrics.
    public init(id: Int64, params: [String: ParameterValue], metrics: [String: ParameterValue]) {
        self.init(id: id, index: Int(id), repetition: 0, status: .succeeded, params: params, metrics: metrics, metricsSource: nil)
    }
}
