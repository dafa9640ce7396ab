import Foundation
import Testing
@testable import Wire

/// CURVE encryption with a ZAP allow-list, over real TCP sockets on loopback.
@Suite(.enabled(if: Context.hasCurve, "libzmq was built without CURVE"))
struct CurveTests {
    /// How long a refused client is watched to make sure nothing reaches the server.
    static let silence = Duration.milliseconds(500)
    /// The longest any expected event may take on loopback.
    static let deadline = Duration.seconds(5)

    /// A ROUTER CURVE server bound to a wildcard loopback port.
    func makeServer(_ context: Context, keys: CurveKeyPair) throws -> Socket {
        let router = try Socket(context, kind: .router)
        try router.set(.curveServer(secretKey: keys.secretKey))
        try router.bind("tcp://127.0.0.1:*")
        return router
    }

    /// A DEALER CURVE client connected to `endpoint`, with a message already queued.
    func makeClient(_ context: Context, keys: CurveKeyPair, serverKey: CurveKey, endpoint: String,
                    saying command: String) throws -> Socket {
        let dealer = try Socket(context, kind: .dealer)
        try dealer.set(.curveClient(keys: keys, serverPublicKey: serverKey))
        try dealer.connect(endpoint)
        try dealer.send(Message(command).frames)  // queued until the handshake succeeds
        return dealer
    }

    /// Polls `condition` every 10 ms until it holds or `deadline` passes.
    func eventually(within deadline: Duration = CurveTests.deadline, _ condition: () -> Bool) -> Bool {
        let end = ContinuousClock.now + deadline
        while ContinuousClock.now < end {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    @Test func listedClientExchangesMessagesBothWays() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), a = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowList: AllowList([.init(key: a.publicKey, name: "a")]))
        let router = try makeServer(context, keys: server)
        let dealer = try makeClient(context, keys: a, serverKey: server.publicKey, endpoint: router.lastEndpoint,
                                    saying: "hello")
        let got = try #require(try router.receive(timeout: Self.deadline))
        #expect(try Message(frames: got.frames.dropFirst()).command == "hello")
        try router.send([got.frames[0]] + Message("welcome").frames)
        let back = try #require(try dealer.receive(timeout: Self.deadline))
        #expect(try Message(frames: back.frames[...]).command == "welcome")
        #expect(zap.acceptedCount >= 1 && zap.rejectedCount == 0)
    }

    @Test func unlistedClientGetsNothingThrough() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), a = try CurveKeyPair.generate(), b = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowList: AllowList([.init(key: a.publicKey)]))
        let router = try makeServer(context, keys: server)
        let intruder = try makeClient(context, keys: b, serverKey: server.publicKey, endpoint: router.lastEndpoint,
                                      saying: "intrude")
        #expect(eventually { zap.rejectedCount >= 1 }, "the handler never saw B's handshake")
        #expect(try router.receive(timeout: Self.silence) == nil)
        #expect(zap.recentRejections.last?.clientKey == b.publicKey.text)
        #expect(zap.acceptedCount == 0)
        // The server still serves listed clients after refusing one.
        let friend = try makeClient(context, keys: a, serverKey: server.publicKey, endpoint: router.lastEndpoint,
                                    saying: "hello")
        let got = try #require(try router.receive(timeout: Self.deadline))
        #expect(try Message(frames: got.frames.dropFirst()).command == "hello")
        _ = (intruder.kind, friend.kind)  // keep both clients connected until here
    }

    @Test func clientWithTheWrongServerKeyGetsNothingThrough() throws {
        let context = try Context()
        let server = try CurveKeyPair.generate(), impostor = try CurveKeyPair.generate(), a = try CurveKeyPair.generate()
        let zap = try ZAPHandler(context: context, allowList: AllowList([.init(key: a.publicKey)]))
        let router = try makeServer(context, keys: server)
        let dealer = try makeClient(context, keys: a, serverKey: impostor.publicKey, endpoint: router.lastEndpoint,
                                    saying: "hello")
        #expect(try router.receive(timeout: Self.silence) == nil)
        #expect(zap.acceptedCount == 0)  // the handshake fails before libzmq asks the handler
        _ = dealer.kind  // keep the client connected until here
    }

    @Test func reloadedAllowListAdmitsAReconnectingClient() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-zap-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = KeyStore(directory: directory)
        let server = try CurveKeyPair.generate()
        let b = try store.generate(name: "b")
        try "# nobody yet\n".write(toFile: store.allowListPath, atomically: true, encoding: .utf8)
        let context = try Context()
        let zap = try ZAPHandler(context: context, allowList: try store.loadAllowList())
        let router = try makeServer(context, keys: server)
        let dealer = try makeClient(context, keys: b, serverKey: server.publicKey, endpoint: router.lastEndpoint,
                                    saying: "late")
        #expect(eventually { zap.rejectedCount >= 1 })
        try "\(b.publicKey) b\n".write(toFile: store.allowListPath, atomically: true, encoding: .utf8)
        try zap.reload()
        #expect(zap.allowList.name(of: b.publicKey) == "b")
        // libzmq 4.3.4 never retries a handshake the handler refused and drops what was queued for
        // that connection ("late"): the client must reconnect and send again.
        try dealer.disconnect(router.lastEndpoint)
        try dealer.connect(router.lastEndpoint)
        try dealer.send(Message("again").frames)
        let got = try #require(try router.receive(timeout: Self.deadline))
        #expect(try Message(frames: got.frames.dropFirst()).command == "again")
        #expect(zap.acceptedCount == 1 && zap.rejectedCount == 1)
        _ = dealer.kind  // keep the client connected until here
    }

    @Test func secondHandlerInOneContextIsRefused() throws {
        let context = try Context()
        let first = try ZAPHandler(context: context, allowList: AllowList([]))
        #expect {
            _ = try ZAPHandler(context: context, allowList: AllowList([]))
        } throws: { error in
            "\(error)".contains(ZAPHandler.endpoint) && "\(error)".contains("in use") && "\(error)".contains("reuse")
        }
        #expect(first.failure == nil)
    }

    @Test func stopEndsTheThreadPromptly() throws {
        let context = try Context()
        let zap = try ZAPHandler(context: context, allowList: AllowList([]))
        let start = ContinuousClock.now
        zap.stop()
        zap.stop()
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(zap.failure == nil)
    }

    @Test func answersFollowRFC27() throws {
        let a = try CurveKeyPair.generate()
        let raw = z85Decode(a.publicKey.text)
        let list = AllowList([.init(key: a.publicKey, name: "a")])
        func request(_ mechanism: String, _ credentials: [Data]) -> [Data] {
            ["1.0", "7", "", "127.0.0.1", "", mechanism].map { Data($0.utf8) } + credentials
        }
        let listed = ZAPHandler.answer(request("CURVE", [Data(raw)]), allowList: list)
        #expect(listed.reply.map { String(decoding: $0, as: UTF8.self) } == ["1.0", "7", "200", "OK", "a", ""])
        #expect(listed.rejection == nil)
        let unlisted = ZAPHandler.answer(request("CURVE", [Data(repeating: 1, count: 32)]), allowList: list)
        #expect(String(decoding: unlisted.reply[2], as: UTF8.self) == "400")
        #expect(String(decoding: unlisted.reply[3], as: UTF8.self) == "key not on the allow-list")
        let null = ZAPHandler.answer(request("NULL", []), allowList: list)
        #expect(String(decoding: null.reply[2], as: UTF8.self) == "400")
        #expect(null.rejection?.mechanism == "NULL")
        let broken = ZAPHandler.answer([Data("1.0".utf8), Data("8".utf8)], allowList: list)
        #expect(broken.reply.count == 6 && String(decoding: broken.reply[2], as: UTF8.self) == "500")
    }
}

/// Z85 text as bytes (ZeroMQ RFC 32), written out here so the test does not trust the code it checks.
func z85Decode(_ text: String) -> [UInt8] {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#")
    var bytes: [UInt8] = []
    for group in stride(from: 0, to: text.count, by: 5) {
        let digits = Array(text)[group..<group + 5]
        let value = digits.reduce(UInt32(0)) { $0 * 85 + UInt32(alphabet.firstIndex(of: $1)!) }
        bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) }
    }
    return bytes
}
