import Foundation
import Tasks

extension Trainer {
    /// `run`, collecting each measurement as stepped metrics for a task's result: every point
    /// (the curves), the last values (the run's metrics), and each measurement handed to `report`
    /// as it is made (a task's progress).
    public func runCollecting(checkpoints: URL?, shouldStop: () -> Bool,
                              report: ([StepMetric]) -> Void) throws(ModelError) -> (series: [StepMetric], last: [String: ParameterValue]) {
        var series: [StepMetric] = []
        var last: [String: ParameterValue] = [:]
        try run(checkpoints: checkpoints, shouldStop: shouldStop) { measurement in
            let points = measurement.values.map { StepMetric(name: $0.key, step: measurement.step, value: $0.value) }
            series += points
            last = measurement.values.mapValues { .double($0) }
            report(points)
        }
        return (series, last)
    }
}
