import ClusterTestSupport
import Foundation
import Testing
import Wire
@testable import Cluster
import Tasks

/// The control limit against the largest legitimate control messages, and at the coordinator.
@Suite struct ControlMessageSizeTests {
    /// A `status?` carrying 35 frames of 2 MiB (70 MiB, each frame far under the limit) is
    /// dropped and counted, not answered; the same peer's next plain request is answered.
    @Test func anOverLimitRequestIsDroppedAndTheNextIsAnswered() throws {
        let cluster = try TestCluster(workers: 0)
        let context = try Context()
        let peer = try Socket(context, kind: .dealer)
        try peer.connect(cluster.coordinator.endpoint)
        let dropped = try cluster.status().counters["dropped_messages"] ?? 0
        try peer.send(ClusterMessage.statusRequest.message.frames + Array(repeating: Data(count: 2 << 20), count: 35))
        #expect(try peer.receive(timeout: .seconds(2)) == nil, "the coordinator answered a 70 MiB request")
        try cluster.wait(for: "the request to be counted as dropped", timeout: .seconds(10)) {
            ($0.counters["dropped_messages"] ?? 0) == dropped + 1
        }
        try peer.send(ClusterMessage.statusRequest.message.frames)
        let reply = try #require(try peer.receive(timeout: .seconds(10)), "\(cluster.logText)")
        #expect(try ClusterMessage(Message(frames: reply.frames[...])).command == "status")
    }

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
