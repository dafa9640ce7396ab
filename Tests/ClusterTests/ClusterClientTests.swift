import Cluster
import Foundation
import Testing
import Wire

/// `ClusterClient` against a real ROUTER socket standing in for a slow coordinator.
@Suite struct ClusterClientTests {
    /// A reply that arrives after its request timed out must not answer the next request.
    @Test func aLateReplyIsNotTakenForTheNextAnswer() throws {
        let context = try Context()
        let router = try Socket(context, kind: .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = router.lastEndpoint
        nonisolated(unsafe) let server = router
        let served = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { served.signal() }
            guard let first = try? server.receive(timeout: .seconds(10)) else { return }
            Thread.sleep(forTimeInterval: 0.8)               // past the client's 0.3 s timeout
            _ = try? server.send([first.frames[0]] + ClusterMessage.status(json: "late").message.frames)
            guard let second = try? server.receive(timeout: .seconds(10)) else { return }
            _ = try? server.send([second.frames[0]] + ClusterMessage.status(json: "fresh").message.frames)
        }
        thread.start()
        let client = try ClusterClient(connect: endpoint)
        #expect(throws: ClusterError.self) { try client.status(timeout: .milliseconds(300)) }
        Thread.sleep(forTimeInterval: 0.8)                   // the late reply is on its way by now
        #expect(try client.status(timeout: .seconds(10)) == "fresh")
        served.wait()
    }
}
