/// What a finished task reports: metrics (numbers, strings), stepped metrics (curves) and
/// artifacts (file paths).
public struct TaskOutcome: Sendable {
    public var metrics: [String: ParameterValue]
    public var artifacts: [String]
    public var series: [StepMetric]

    public init(metrics: [String: ParameterValue] = [:], artifacts: [String] = [], series: [StepMetric] = []) {
        self.metrics = metrics
        self.artifacts = artifacts
        self.series = series
    }
}
