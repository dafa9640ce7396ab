import Foundation
import Testing
import TensorCore
@testable import Wire

/// Sockets over real libzmq transports (inproc, ipc, tcp on loopback).
@Suite struct SocketTests {
    @Test func pairCarriesMultipartMessagesBothWays() throws {
        let context = try Context()
        let a = try Socket(context, kind: .pair)
        try a.bind("inproc://pair-\(UUID().uuidString)")
        let b = try Socket(context, kind: .pair)
        try b.connect(a.lastEndpoint)
        try a.send([Data("one".utf8), Data(), Data("three".utf8)])
        let got = try #require(try b.receive(timeout: .seconds(5)))
        #expect(got.frames == [Data("one".utf8), Data(), Data("three".utf8)])
        #expect(!got.truncated)
        try b.send([Data("back".utf8)])
        #expect(try a.receive(timeout: .seconds(5))?.frames == [Data("back".utf8)])
    }

    @Test func receiveTimesOutWithNil() throws {
        let context = try Context()
        let a = try Socket(context, kind: .pull)
        try a.bind("tcp://127.0.0.1:*")
        let start = ContinuousClock.now
        #expect(try a.receive(timeout: .milliseconds(50)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(40))
    }

    @Test func wildcardTCPPortIsReadBack() throws {
        let context = try Context()
        let router = try Socket(context, kind: .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = router.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(Int(endpoint.split(separator: ":").last ?? "") ?? 0 > 0)
        let dealer = try Socket(context, kind: .dealer)
        try dealer.set(.routingID("worker-7"))
        try dealer.connect(endpoint)
        try dealer.send(Message("hello").frames)
        let got = try #require(try router.receive(timeout: .seconds(5)))
        #expect(String(decoding: got.frames[0], as: UTF8.self) == "worker-7")
        let message = try Message(frames: got.frames.dropFirst())
        #expect(message.command == "hello")
    }

    @Test func largeFramesTravelIntactWithoutCopy() throws {
        let context = try Context()
        let a = try Socket(context, kind: .pair)
        let path = "/tmp/loom-test-\(UUID().uuidString)"
        defer { unlink(path) }   // libzmq leaves an ipc socket's file behind
        try a.bind("ipc://\(path)")
        let b = try Socket(context, kind: .pair)
        try b.connect(a.lastEndpoint)
        var random = SeededRandom(seed: 3)
        let tensor = try Tensor(shape: [257, 3, 129], storage: (0..<(257 * 3 * 129)).map { _ in random.nextUnitFloat() })
        try a.send([Data("t".utf8), tensor.frame])
        let got = try #require(try b.receive(timeout: .seconds(10)))
        let back = try Tensor(shape: [257, 3, 129], frame: got.frames[1])
        #expect(back == tensor)
    }

    @Test func tooManyFramesAreCutAndFlagged() throws {
        let context = try Context()
        let a = try Socket(context, kind: .pair)
        try a.bind("inproc://many-\(UUID().uuidString)")
        let b = try Socket(context, kind: .pair)
        try b.connect(a.lastEndpoint)
        try a.send((0..<100).map { Data([UInt8($0)]) })
        let got = try #require(try b.receive(timeout: .seconds(5), maximumFrames: 8))
        #expect(got.frames.count == 8 && got.truncated)
        try a.send([Data("next".utf8)])                     // the rest was drained, not left queued
        #expect(try b.receive(timeout: .seconds(5))?.frames == [Data("next".utf8)])
    }

    @Test func oversizeFrameIsRefusedByTheReceiver() throws {
        let context = try Context()
        let small = try Socket(context, kind: .pull)
        try small.set(.maximumMessageSize(1024))
        try small.bind("tcp://127.0.0.1:*")
        let sender = try Socket(context, kind: .push)
        try sender.connect(small.lastEndpoint)
        try sender.send([Data(count: 4096)])
        #expect(try small.receive(timeout: .milliseconds(300)) == nil)
    }

    @Test func bindingATakenPortNamesTheEndpoint() throws {
        let context = try Context()
        let first = try Socket(context, kind: .router)
        try first.bind("tcp://127.0.0.1:*")
        let second = try Socket(context, kind: .router)
        #expect {
            try second.bind(first.lastEndpoint)
        } throws: { error in
            "\(error)".contains(first.lastEndpoint) && "\(error)".contains("in use")
        }
    }

    @Test func wakeSignalWakesAPoll() throws {
        let context = try Context()
        let socket = try Socket(context, kind: .pull)
        try socket.bind("inproc://wake-\(UUID().uuidString)")
        let signal = try WakeSignal()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { signal.raise() }
        let ready = try Poller.wait([socket.pollItem, signal.pollItem], timeout: .seconds(5))
        #expect(ready == [false, true])
        signal.clear()
        #expect(try Poller.wait([signal.pollItem], timeout: .milliseconds(10)) == [false])
    }
}
