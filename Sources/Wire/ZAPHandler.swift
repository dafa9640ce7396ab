import Foundation
import Synchronization
internal import CZeroMQ

/// Accepts CURVE clients whose public key is on an allow-list: a ZAP handler (ZeroMQ RFC 27) on a
/// dedicated thread.
///
/// libzmq sends a request for every CURVE handshake to the REP socket bound at
/// `inproc://zeromq.zap.01` in the server socket's own `Context`; the handler answers 200 for a
/// listed key and 400 for anything else, and libzmq drops a refused connection before any message
/// gets through. Server sockets need no option beyond `.curveServer`. A refused client is not
/// retried by libzmq (4.3.4): after `reload` lists its key, it must disconnect and connect again.
///
/// - Important: start the handler before the CURVE servers of its `Context` accept connections and
///   stop it only after closing them. With no handler bound, libzmq 4.3 lets in every client that
///   completes a CURVE handshake, listed or not (`ZMQ_ZAP_ENFORCE_DOMAIN`, which refuses them, is
///   a draft option).
/// - Note: a `Context` has one handler: libzmq binds one endpoint. `zmq_close` finishes
///   asynchronously, so even after `stop()` binding again in the same `Context` can fail with
///   "address in use"; keep one handler for the Context's lifetime.
public final class ZAPHandler: Sendable {
    /// The endpoint libzmq sends authentication requests to.
    public static let endpoint = "inproc://zeromq.zap.01"
    /// How many distinct rejected clients `recentRejections` keeps.
    public static let recentRejectionLimit = 8
    /// The longest the thread waits between checks for `stop()` (the wake signal usually ends the wait).
    static let pollInterval = Duration.milliseconds(250)

    private let shared: Shared
    private let wake: WakeSignal
    private let finished = DispatchSemaphore(value: 0)

    /// Binds the handler's socket in `context` and starts answering on a new thread.
    /// - Parameter allowList: the accepted client keys; `reload` replaces them.
    /// - Throws: `WireError.call` when the endpoint is taken (a handler already runs in this
    ///   Context) or a socket cannot be made.
    public init(context: Context, allowList: AllowList) throws(WireError) {
        shared = Shared(allowList: allowList)
        wake = try WakeSignal()
        let started = DispatchSemaphore(value: 0)
        let thread = Thread { [shared, wake, finished] in
            ZAPHandler.serve(context: context, shared: shared, wake: wake, started: started)
            finished.signal()
        }
        thread.name = "loom-zap"
        thread.start()
        guard started.wait(timeout: .now() + 10) == .success else {
            stop()
            throw .call("starting the ZAP handler thread", code: ETIMEDOUT,
                        text: "it did not bind \(ZAPHandler.endpoint) within 10 s")
        }
        if let failure = shared.state.withLock({ $0.failure }) {
            stop()  // the thread has ended or is ending; deinit's stop() then returns at once
            throw failure
        }
    }

    deinit { stop() }

    /// Handshakes accepted so far.
    public var acceptedCount: Int { shared.state.withLock { $0.accepted } }

    /// Handshakes refused so far. libzmq 4.3.4 does not retry a refused handshake: a client
    /// whose key is listed later must reconnect (and resend: its queued messages were dropped).
    public var rejectedCount: Int { shared.state.withLock { $0.rejected } }

    /// The last few distinct refused clients, oldest first, at most `recentRejectionLimit`.
    public var recentRejections: [ZAPRejection] { shared.state.withLock { $0.recent } }

    /// The list in use.
    public var allowList: AllowList { shared.state.withLock { $0.allowList } }

    /// Why the thread stopped on its own (the Context was terminated), or nil while it runs.
    /// Without a handler libzmq lets every CURVE client in, so servers should stop when this is set.
    public var failure: WireError? { shared.state.withLock { $0.failure } }

    /// Replaces the allow-list; handshakes from now on use `allowList`.
    public func reload(_ allowList: AllowList) {
        shared.state.withLock { $0.allowList = allowList }
    }

    /// Reads the allow-list again from the file it came from (for SIGHUP).
    /// - Throws: `WireError.keys` naming `path:line` when the file is now bad; the old list stays.
    /// - Precondition: the list in use was read from a file (`AllowList.path` is set).
    public func reload() throws(WireError) {
        guard let path = allowList.path else {
            preconditionFailure("ZAPHandler.reload(): the allow-list was built in memory; pass a new one to reload(_:)")
        }
        reload(try AllowList(contentsOf: path))
    }

    /// Stops the thread and closes its socket; returns once the thread has ended (at most a few
    /// seconds). Later calls return at once.
    public func stop() {
        shared.state.withLock { $0.isStopping = true }
        wake.raise()
        if finished.wait(timeout: .now() + 5) == .success {
            finished.signal()  // let every later or concurrent stop() through
        }
    }

    // MARK: the thread

    /// Binds, reports the outcome through `started`, then answers requests until stopped.
    private static func serve(context: Context, shared: Shared, wake: WakeSignal, started: DispatchSemaphore) {
        var isBound = false
        do throws(WireError) {
            let socket = try Socket(context, kind: .rep, limit: .control)
            do throws(WireError) {
                try socket.bind(endpoint)
            } catch {
                guard case let .call(_, code, text) = error, code == EADDRINUSE else { throw error }
                throw .call("zmq_bind(REP, \(endpoint)) for a second ZAP handler in one Context (reuse the running one)",
                            code: code, text: text)
            }
            isBound = true
            started.signal()
            while !shared.state.withLock({ $0.isStopping }) {
                let ready = try Poller.wait([socket.pollItem, wake.pollItem], timeout: pollInterval)
                if ready[1] { wake.clear() }
                guard ready[0], let request = try socket.receive(timeout: .zero, maximumFrames: 16) else { continue }
                let list = shared.state.withLock { $0.allowList }
                let answer = ZAPHandler.answer(request.frames, allowList: list)
                shared.state.withLock { $0.record(answer.rejection) }
                try socket.send(answer.reply)  // REP must answer every request before the next
            }
        } catch {
            shared.state.withLock { $0.failure = error }
            if !isBound { started.signal() }
        }
    }

    /// The reply to one ZAP request, and the rejection to record (nil when accepted).
    ///
    /// Request frames: version "1.0", request id, domain, address, routing id, mechanism, then the
    /// credentials (for CURVE, the client's 32-byte public key). Reply frames: version, request
    /// id, status code, status text, user id, metadata.
    static func answer(_ frames: [Data], allowList: AllowList) -> (reply: [Data], rejection: ZAPRejection?) {
        func reply(_ status: String, _ text: String, user: String = "") -> [Data] {
            [Data("1.0".utf8), frames.count > 1 ? frames[1] : Data(), Data(status.utf8), Data(text.utf8),
             Data(user.utf8), Data()]
        }
        guard frames.count >= 6, frames[0] == Data("1.0".utf8) else {
            let rejection = ZAPRejection(mechanism: "?", clientKey: nil, address: "")
            return (reply("500", "malformed ZAP request of \(frames.count) frame(s)"), rejection)
        }
        let address = String(decoding: frames[3], as: UTF8.self)
        let mechanism = String(decoding: frames[5], as: UTF8.self)
        guard mechanism == "CURVE", frames.count == 7, let key = curveKey(frames[6]) else {
            let rejection = ZAPRejection(mechanism: mechanism, clientKey: nil, address: address)
            return (reply("400", "mechanism \(mechanism) not allowed; Loom accepts CURVE clients only"), rejection)
        }
        guard allowList.contains(key) else {
            let rejection = ZAPRejection(mechanism: mechanism, clientKey: key.text, address: address)
            return (reply("400", "key not on the allow-list"), rejection)
        }
        return (reply("200", "OK", user: allowList.name(of: key) ?? key.text), nil)
    }

    /// A raw 32-byte CURVE key as Z85 text.
    private static func curveKey(_ raw: Data) -> CurveKey? {
        guard raw.count == 32 else { return nil }
        var text = [CChar](repeating: 0, count: 41)
        let bytes = [UInt8](raw)
        guard zmq_z85_encode(&text, bytes, 32) != nil else { return nil }
        return try? CurveKey(text: String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// What the handler thread and its callers share, behind one lock.
    private final class Shared: Sendable {
        let state: Mutex<State>
        init(allowList: AllowList) { state = Mutex(State(allowList: allowList)) }
    }

    private struct State: Sendable {
        var allowList: AllowList
        var accepted = 0
        var rejected = 0
        var recent: [ZAPRejection] = []
        var isStopping = false
        var failure: WireError?

        /// Counts one answer; a repeat rejection moves its client to the end instead of adding one.
        mutating func record(_ rejection: ZAPRejection?) {
            guard let rejection else {
                accepted += 1
                return
            }
            rejected += 1
            var entry = rejection
            if let index = recent.firstIndex(where: { $0.mechanism == entry.mechanism && $0.clientKey == entry.clientKey }) {
                entry.attempts += recent[index].attempts
                recent.remove(at: index)
            }
            recent.append(entry)
            if recent.count > ZAPHandler.recentRejectionLimit { recent.removeFirst() }
        }
    }
}
