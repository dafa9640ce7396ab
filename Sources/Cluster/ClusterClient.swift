import Foundation
import Wire
import Tasks

/// A short-lived connection to a running coordinator, for `loom status` and `loom submit`.
///
/// Use it from one thread (it owns a socket).
public final class ClusterClient {
    private let context: Context
    private var socket: SocketBox
    private let security: CurveClientSecurity?
    /// The coordinator's endpoint.
    public let endpoint: String
    /// Set once a coordinator has left `events?` unanswered (a Loom from before it existed).
    private var eventsUnanswered = false
    /// The machine this client reads results on, sent with each submission: a worker elsewhere
    /// then carries its artifact files in the result. This process's by default.
    public var host = HostIdentity.current

    /// Connects to `endpoint` (libzmq connects in the background; requests wait for it).
    public init(connect endpoint: String, security: CurveClientSecurity? = nil) throws(ClusterError) {
        self.endpoint = endpoint
        self.security = security
        do throws(WireError) {
            context = try Context()
            socket = try Self.connect(context, endpoint, security)
        } catch { throw .wire(error) }
    }

    private static func connect(_ context: Context, _ endpoint: String,
                                _ security: CurveClientSecurity?) throws(WireError) -> SocketBox {
        let socket = try Socket(context, kind: .dealer, limit: .control)
        if let security { try security.apply(to: socket) }
        try socket.connect(endpoint)
        return SocketBox(socket)
    }

    /// Sends `request` and waits for the reply.
    ///
    /// After a timeout the connection is replaced by a new one (a new identity at the
    /// coordinator's ROUTER), so a late reply to this request is dropped there instead of being
    /// read as the answer to the next one (a late `submitted` would hand one run another's task
    /// ids). The cost: attempt events of tasks submitted on the old connection stay at the
    /// coordinator; their results, stepped metrics included, are still fetched by id.
    /// - Throws: `ClusterError.timeout` naming the endpoint when nothing answers in time, and
    ///   `.refused` when the coordinator answers with an error.
    public func request(_ request: ClusterMessage, timeout: Duration) throws(ClusterError) -> ClusterMessage {
        var reply: ClusterMessage?
        do throws(WireError) {
            try socket.socket.send(request.message.frames)
            let end = ContinuousClock.now + timeout
            while reply == nil && ContinuousClock.now < end {
                guard let received = try socket.socket.receive(timeout: min(.milliseconds(100), end - ContinuousClock.now)) else { continue }
                reply = try ClusterMessage(Message(frames: received.frames[...]))
            }
        } catch { throw .wire(error) }
        if case let .error(text) = reply { throw .refused(text) }
        if let reply { return reply }
        do throws(WireError) { socket = try Self.connect(context, endpoint, security) } catch { throw .wire(error) }
        throw .timeout("no answer from a coordinator at \(endpoint) within \(timeout); is 'loom coordinator' or 'loom up' running there?")
    }

    /// The coordinator's status as JSON.
    public func status(timeout: Duration = .seconds(5)) throws(ClusterError) -> String {
        guard case let .status(json) = try request(.statusRequest, timeout: timeout) else {
            throw .refused("the coordinator answered 'status?' with something else")
        }
        return json
    }

    /// Queues tasks; returns their ids.
    /// - Parameters:
    ///   - attemptTimeout: an attempt running longer fails (and is cancelled on its workers); nil
    ///     leaves the coordinator's lease. At most 30 days.
    ///   - timeout: how long to wait for the coordinator's answer.
    public func submit(kind: String, params: [String: ParameterValue], count: Int, gang: Int,
                       maxAttempts: Int, attemptTimeout: Duration? = nil, timeout: Duration = .seconds(5)) throws(ClusterError) -> [UInt64] {
        var milliseconds = 0
        if let attemptTimeout {
            guard attemptTimeout > .zero else { throw .invalidTask("a timeout must be positive") }
            let wanted = attemptTimeout.inMilliseconds.rounded(.up)
            guard wanted <= Double(ClusterMessage.longestTimeoutMilliseconds) else {
                throw .invalidTask("a timeout of \(attemptTimeout) is longer than the 30 days a coordinator accepts")
            }
            milliseconds = max(1, Int(wanted))
        }
        guard case let .submitted(ids) = try request(.submit(kind: kind, params: params, count: count, gang: gang,
                                                             maxAttempts: maxAttempts, timeoutMilliseconds: milliseconds,
                                                             clientHost: host.text),
                                                     timeout: timeout) else {
            throw .refused("the coordinator answered 'submit' with something else")
        }
        return ids
    }

    /// The finished results among `ids`.
    public func results(_ ids: [UInt64], timeout: Duration = .seconds(5)) throws(ClusterError) -> [TaskResult] {
        guard case let .results(results) = try request(.resultsRequest(ids), timeout: timeout) else {
            throw .refused("the coordinator answered 'results?' with something else")
        }
        return results
    }

    /// The attempt events of the tasks this client submitted, since it last asked.
    public func events(timeout: Duration = .seconds(5)) throws(ClusterError) -> [AttemptEvent] {
        guard case let .events(events) = try request(.eventsRequest, timeout: timeout) else {
            throw .refused("the coordinator answered 'events?' with something else")
        }
        return events
    }

    /// `events()` for a poll loop: empty on any failure, and without asking again once the
    /// coordinator has left the question unanswered, so an older coordinator costs one timeout.
    public func eventsIfAnswered() -> [AttemptEvent] {
        guard !eventsUnanswered else { return [] }
        do { return try events(timeout: .seconds(10)) } catch {
            if case .timeout = error { eventsUnanswered = true }
            return []
        }
    }
}
