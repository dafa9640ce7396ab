import Foundation
import Synchronization
import Wire

/// One rank's place in a gang: its rank, the gang's size, and its peer mesh.
///
/// The worker makes it for a gang task; the task's body uses it to reach the other ranks.
/// `@unchecked Sendable`: the sockets are created, used and closed only by the task thread that
/// runs the body (STYLE §4); the worker's I/O thread touches only `endpoints`, under its mutex.
public final class GangMembership: @unchecked Sendable {
    /// How the ranks connect.
    public enum Topology: String, Sendable {
        /// Every rank can send to every other (TokenRing, Ulysses).
        case mesh
        /// Rank r sends to r + 1 and hears from r − 1 (ring attention).
        case ring
    }

    /// This worker's rank, 0 ≤ rank < size.
    public let rank: Int
    /// The number of ranks.
    public let size: Int
    let taskID: UInt64
    let attempt: Int
    private let context: Context
    private let advertisedHost: String
    private let endpoints = Mutex<(endpoints: [String], hosts: [String])?>(nil)
    private let keys: [String]
    /// With CURVE, this rank's keys; its peer socket serves CURVE and admits only the gang's keys.
    private let security: CurveClientSecurity?
    private let zap: ZAPHandler?
    /// How long a rank waits for the others (start, messages) before failing the attempt.
    public let peerTimeout: Duration
    /// Where `bind()` puts an ipc peer socket (`GangPeerEndpoint`); nil binds TCP.
    var peerDirectory: String?

    private var incoming: SocketBox?
    private var outgoing: [Int: SocketBox] = [:]
    private var pending: [(rank: Int, message: Message)] = []
    public private(set) var topology = Topology.mesh
    /// The task this membership serves, for cancellation checks inside sends.
    var task: TaskContext?
    /// Each rank's host identity: ranks on this machine get tensors through shared memory.
    var peerHosts: [HostIdentity] = []
    var tensorSender: SharedTensorSender?
    var tensorReceiver: SharedTensorReceiver?
    /// Tensors sent through shared memory and as plain frames, for metrics and tests.
    public internal(set) var sharedMemoryTransfers = 0
    public internal(set) var frameTransfers = 0
    /// Tensor payload bytes sent to and received from each rank (protocol headers aside).
    public internal(set) var tensorBytesSent: [Int: Int] = [:]
    public internal(set) var tensorBytesReceived: [Int: Int] = [:]
    /// A modelled link speed for tensors between ranks (nil: as fast as the transport goes).
    public var throttle: LinkThrottle?
    /// When each incoming modelled link is free again (monotonic nanoseconds).
    var linkFreeAt: [Int: UInt64] = [:]
    /// Seconds each incoming modelled link spent transmitting (latency + bytes / bandwidth).
    public internal(set) var modelledLinkSeconds: [Int: Double] = [:]

    init(slot: GangSlot, taskID: UInt64, attempt: Int, context: Context, security: CurveClientSecurity?, zap: ZAPHandler?,
         advertisedHost: String, peerTimeout: Duration) {
        self.security = security
        self.zap = zap
        self.keys = slot.keys
        rank = slot.rank
        size = slot.size
        self.taskID = taskID
        self.attempt = attempt
        self.context = context
        self.advertisedHost = advertisedHost
        self.peerTimeout = peerTimeout
    }

    /// Binds this rank's incoming socket. Called on the task thread.
    /// - Returns: the endpoint other ranks connect to.
    func bind() throws(WireError) -> String {
        let socket = try Socket(context, kind: .router)
        if let security, let zap {
            // Admit exactly this gang before binding: libzmq never retries a refused handshake,
            // so a peer must not be able to arrive before its key is on the list.
            let peers = keys.compactMap { try? CurveKey(text: $0) }
            guard peers.count == size else { throw .keys("a gang with CURVE needs every rank's public key; some are missing") }
            zap.reload(AllowList(peers.map { AllowList.Entry(key: $0, name: nil) }))
            try socket.set(.curveServer(secretKey: security.keys.secretKey))
        }
        let endpoint = try GangPeerEndpoint.bind(socket, directory: peerDirectory, advertisedHost: advertisedHost,
                                                 taskID: taskID, attempt: attempt)
        incoming = SocketBox(socket)
        return endpoint
    }

    /// Called by the worker's I/O thread when the coordinator sends every rank's endpoint.
    func deliver(endpoints list: [String], hosts: [String]) {
        endpoints.withLock { $0 = (list, hosts) }
    }

    /// Waits for the endpoints, connects to the peers `topology` needs, and checks the mesh with
    /// a barrier. Called on the task thread before the body runs.
    /// - Throws: `ClusterError` on cancellation, timeout or a socket failure.
    func connect(topology: Topology, context task: TaskContext) throws(ClusterError) {
        self.topology = topology
        self.task = task
        let end = ContinuousClock.now + peerTimeout
        var delivered: (endpoints: [String], hosts: [String])?
        while delivered == nil {
            try task.checkCancellation()
            guard ContinuousClock.now < end else { throw .timeout("rank \(rank) waited \(peerTimeout) for the gang's endpoints") }
            delivered = endpoints.withLock { $0 }
            if delivered == nil { Thread.sleep(forTimeInterval: 0.002) }
        }
        guard let delivered, delivered.endpoints.count == size, delivered.hosts.count == size else {
            throw .gangFailed("rank \(rank) got \(delivered?.endpoints.count ?? 0) endpoints for a gang of \(size)")
        }
        let list = delivered.endpoints
        peerHosts = delivered.hosts.map(HostIdentity.init)
        let peerKeys = keys.map { try? CurveKey(text: $0) }
        let targets = topology == .mesh ? (0..<size).filter { $0 != rank } : (size > 1 ? [(rank + 1) % size] : [])
        do throws(WireError) {
            for peer in targets {
                let socket = try Socket(context, kind: .dealer)
                try socket.set(.routingID("r\(rank)"))
                if let security {
                    guard let serverKey = peer < peerKeys.count ? peerKeys[peer] : nil else {
                        throw .keys("rank \(peer) has no CURVE key while this gang runs with CURVE")
                    }
                    try socket.set(.curveClient(keys: security.keys, serverPublicKey: serverKey))
                }
                try socket.connect(list[peer])
                outgoing[peer] = SocketBox(socket)
            }
        } catch { throw .wire(error) }
        try barrier(round: -1, context: task)
    }

    /// Sends `message` to rank `peer` (a neighbour in a ring, anyone in a mesh).
    ///
    /// It never blocks for long: a full queue (a dead or stalled peer) is retried every
    /// millisecond until the attempt is cancelled or `peerTimeout` passes.
    /// - Throws: `ClusterError.gangFailed` when this topology has no link to `peer`; `.cancelled`
    ///   or `.timeout` when the message cannot go.
    public func send(_ message: Message, to peer: Int) throws(ClusterError) {
        guard let socket = outgoing[peer] else {
            throw .gangFailed("rank \(rank) has no link to rank \(peer) in a \(topology.rawValue) of \(size)")
        }
        let frames = message.frames
        let end = ContinuousClock.now + peerTimeout
        while true {
            do throws(WireError) {
                if try socket.socket.send(frames, wait: false) { return }
            } catch { throw .wire(error) }
            if let task { try task.checkCancellation() }
            guard ContinuousClock.now < end else { throw .timeout("rank \(rank) could not send to rank \(peer) for \(peerTimeout)") }
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    /// Receives the next message whose command is `command` from rank `peer` (any rank if nil),
    /// keeping others for later calls.
    /// - Throws: `ClusterError` on cancellation (a member died), timeout, or a socket failure.
    public func receive(_ command: String, from peer: Int? = nil, context task: TaskContext) throws(ClusterError) -> (rank: Int, message: Message) {
        if let index = pending.firstIndex(where: { $0.message.command == command && (peer == nil || $0.rank == peer) }) {
            return pending.remove(at: index)
        }
        guard let incoming else { throw .gangFailed("rank \(rank) has no incoming socket") }
        let end = ContinuousClock.now + peerTimeout
        while true {
            try task.checkCancellation()
            guard ContinuousClock.now < end else {
                throw .timeout("rank \(rank) waited \(peerTimeout) for '\(command)' from \(peer.map { "rank \($0)" } ?? "any rank")")
            }
            let received: ReceivedFrames?
            do { received = try incoming.socket.receive(timeout: .milliseconds(20)) } catch { throw .wire(error) }
            guard let received, received.frames.count >= 2 else { continue }
            let id = String(decoding: received.frames[0], as: UTF8.self)
            guard id.hasPrefix("r"), let from = Int(id.dropFirst()), (0..<size).contains(from),
                  let message = try? Message(frames: received.frames.dropFirst()) else { continue }
            if message.command == command && (peer == nil || from == peer) { return (from, message) }
            pending.append((from, message))
        }
    }

    /// Returns once every rank has reached barrier `round`.
    ///
    /// A mesh exchanges one message with every peer; a ring passes a token twice around (the
    /// first pass gathers, the second releases).
    /// - Throws: `ClusterError` when a rank does not arrive in time or the attempt is cancelled.
    public func barrier(round: Int, context task: TaskContext) throws(ClusterError) {
        guard size > 1 else { return }
        // The round is in the command, so a fast rank's next-round token waits in `pending`
        // instead of being mistaken for (or dropped as) this round's.
        let command = "barrier:\(round)"
        let token = Message(command)
        func receiveRound(from peer: Int?) throws(ClusterError) {
            _ = try receive(command, from: peer, context: task)
        }
        switch topology {
        case .mesh:
            for peer in 0..<size where peer != rank { try send(token, to: peer) }
            for _ in 0..<(size - 1) { try receiveRound(from: nil) }
        case .ring:
            let next = (rank + 1) % size, previous = (rank + size - 1) % size
            // Pass 1 gathers (rank 0 hears the token back once all have arrived); pass 2
            // releases (it stops at the last rank).
            if rank == 0 {
                try send(token, to: next)
                try receiveRound(from: previous)
                try send(token, to: next)
            } else {
                try receiveRound(from: previous)
                try send(token, to: next)
                try receiveRound(from: previous)
                if next != 0 { try send(token, to: next) }
            }
        }
    }

    /// Closes the mesh. Called on the task thread after the body returns or throws.
    func tearDown() {
        outgoing = [:]
        incoming = nil
        pending = []
        task = nil
        tensorSender = nil
        tensorReceiver = nil
    }
}

/// A socket owned by a reference, so it can sit in collections (a `~Copyable` value cannot).
final class SocketBox {
    let socket: Socket
    init(_ socket: consuming Socket) { self.socket = socket }
}
