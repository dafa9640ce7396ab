import Foundation
import Testing
import Wire
@testable import Cluster

/// The control limit against the largest legitimate control messages.
@Suite struct ControlMessageSizeTests {
    /// The `steps` kind's longest run (a million points) with a training run's worth of metrics
    /// fits in one control message with room to spare: 25 bytes a point.
    @Test func aMillionPointCurveFitsInAControlMessage() throws {
        var result = TaskResult(taskID: 1, attempt: 1, succeeded: true, metrics: ["loss": .double(0.5), "steps": .int(1_000_000)],
                                artifacts: [], error: "", seconds: 1, worker: "local-0")
        result.series = (1...1_000_000).map { StepMetric(name: "value", step: $0, value: Double($0)) }
        let bytes = ClusterMessage.result(result).message.frames.reduce(0) { $0 + $1.count }
        #expect(bytes < MessageLimit.control.maximumBytes / 2, "\(bytes) bytes")
    }
}
