import Cluster
import ClusterTestSupport
import Foundation
import Testing
import TensorCore
import Wire

/// A hostile peer on the coordinator's socket: garbage is dropped and counted, real work goes on.
@Suite(.serialized) struct HostilePeerTests {
    /// One hostile message: frames that are wrong in one of the ways a peer can be wrong.
    static func hostileFrames(_ index: Int, random: inout SeededRandom) -> [Data] {
        func bytes(_ count: Int) -> Data {
            var data = Data(count: count)
            for i in 0..<count { data[i] = UInt8(truncatingIfNeeded: random.next()) }
            return data
        }
        let tag = Message.protocolTag
        switch index % 8 {
        case 0: return (0..<(1 + Int(random.next() % 4))).map { _ in bytes(Int(random.next() % 64)) }   // random bytes
        case 1: return [tag]                                                                         // truncated
        case 2: return [Data("LOOM0".utf8), Data("register".utf8), Data()]                           // wrong tag
        case 3: return [tag, Data("launch.missiles".utf8), Data()]                                   // unknown command
        case 4:                                                                                      // oversize length
            var header = ByteWriter()
            header.write(UInt32.max)
            return [tag, Data("register".utf8), header.data]
        case 5:                                                                                      // cut-off header
            let full = ClusterMessage.register(WorkerInfo(name: "x", host: "h", hostID: "i", pid: 1, cores: 1, slots: 1,
                                                          version: "0", kinds: ["echo"])).message.header
            return [tag, Data("register".utf8), full.prefix(Int(random.next() % UInt64(full.count)))]
        case 6: return [tag, Data("result".utf8), bytes(40)]                                         // garbage result
        default: return [tag, Data("heartbeat".utf8), Data()] + (0..<70).map { _ in Data([1]) }     // too many frames
        }
    }

    @Test func tenThousandHostileMessagesAreDroppedAndWorkGoesOn() throws {
        let cluster = try TestCluster(workers: 2)
        let context = try Context()
        let hostile = try Socket(context, kind: .dealer)
        try hostile.set(.sendHighWaterMark(0))
        try hostile.connect(cluster.coordinator.endpoint)
        var random = SeededRandom(seed: 99)
        let before = try #require(cluster.coordinator.submit(kind: "echo", params: ["value": .string("before")]).first)
        for index in 0..<10_000 {
            try hostile.send(HostilePeerTests.hostileFrames(index, random: &random))
        }
        // Real work submitted in the middle of the flood still completes.
        let ids = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("after")], count: 20)
        let results = try #require(cluster.coordinator.waitForResults([before] + ids, timeout: .seconds(60)), "\(cluster.logText)")
        #expect(results.allSatisfy { $0.succeeded })
        // 7 of every 8 kinds are undecodable (dropped); the garbage `result`s are either
        // dropped (bad header) or, once decoded, refused as coming from an unknown worker.
        try cluster.wait(for: "every hostile message to be counted", timeout: .seconds(30)) { status in
            let dropped = status.counters["dropped_messages"] ?? 0
            let refused = (status.counters["late_results"] ?? 0) + (status.counters["reregister_requests"] ?? 0)
            return dropped + refused >= 10_000 - 1250
        }
        let status = try cluster.status()
        #expect(status.workers.count == 2, "the workers must stay registered: \(status.json)")
        #expect(status.workers.map(\.name).sorted() == ["local-0", "local-1"], "no hostile message may register a worker: \(status.json)")
        // The workers are still alive processes and still take work.
        let last = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("last")], count: 4)
        #expect(cluster.coordinator.waitForResults(last, timeout: .seconds(30))?.allSatisfy { $0.succeeded } == true)
    }

    @Test func aPeerThatPretendsToBeAWorkerIsToldToRegister() throws {
        let cluster = try TestCluster(workers: 0)
        let context = try Context()
        let peer = try Socket(context, kind: .dealer)
        try peer.connect(cluster.coordinator.endpoint)
        try peer.send(ClusterMessage.heartbeat.message.frames)
        let reply = try #require(try peer.receive(timeout: .seconds(5)))
        let message = try ClusterMessage(Message(frames: reply.frames[...]))
        #expect(message.command == "reregister")
    }
}
