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
    /// Messages that arrived before they were asked for, bounded by `limits`.
    private var pending: [(rank: Int, message: Message, bytes: Int)] = []
    private var pendingPerPeer: [Int: Int] = [:]
    private(set) var pendingBytes = 0
    var pendingCount: Int { pending.count }
    /// The ranks whose DEALERs connect to this rank's ROUTER: only their messages are read.
    private var senders: Set<Int> = []
    /// Bounds on early messages.
    public let limits: Limits
    /// Messages dropped from the peer socket, by reason (for tests, logs and timeout errors).
    public private(set) var dropped: [Drop: Int] = [:]
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
         advertisedHost: String, peerTimeout: Duration, limits: Limits = .standard) {
        self.limits = limits
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
        let socket = try Socket(context, kind: .router, limit: .tensor)
        if let security, let zap {
            // Admit exactly this gang before binding: libzmq never retries a refused handshake,
            // so a peer must not be able to arrive before its key is on the list.
            let peers = keys.compactMap { try? CurveKey(text: $0) }
            guard peers.count == size else { throw .keys("a gang with CURVE needs every rank's public key; some are missing") }
            // Each key is named after the ranks that hold it ("r1", or "r0,r2" when workers share
            // a pair): the ZAP handler hands the name to every message as its user id, so a rank
            // cannot speak under another rank's routing id.
            var ranksOfKey: [String: [Int]] = [:]
            for (rank, key) in peers.enumerated() { ranksOfKey[key.text, default: []].append(rank) }
            zap.reload(AllowList(peers.map { key in
                AllowList.Entry(key: key, name: ranksOfKey[key.text, default: []].map { "r\($0)" }.joined(separator: ","))
            }))
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
        senders = topology == .mesh ? Set(targets) : (size > 1 ? [(rank + size - 1) % size] : [])
        do throws(WireError) {
            for peer in targets {
                let socket = try Socket(context, kind: .dealer, limit: .tensor)
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
    ///
    /// Only ranks that link to this one are heard (ring: the previous rank; mesh: every other).
    /// A DEALER names itself with its routing id, and libzmq refuses a second connection under a
    /// name already connected; with CURVE, the name must also be one of the ranks that hold the
    /// connection's key. A message from any other name, a barrier token that names another
    /// rank, and early messages past `limits` are dropped and counted in `dropped`.
    /// - Throws: `ClusterError` on cancellation (a member died), timeout, or a socket failure.
    public func receive(_ command: String, from peer: Int? = nil, context task: TaskContext) throws(ClusterError) -> (rank: Int, message: Message) {
        if let index = pending.firstIndex(where: { $0.message.command == command && (peer == nil || $0.rank == peer) }) {
            let taken = pending.remove(at: index)
            pendingPerPeer[taken.rank, default: 1] -= 1
            pendingBytes -= taken.bytes
            return (taken.rank, taken.message)
        }
        guard let incoming else { throw .gangFailed("rank \(rank) has no incoming socket") }
        let end = ContinuousClock.now + peerTimeout
        while true {
            try task.checkCancellation()
            guard ContinuousClock.now < end else {
                throw .timeout("rank \(rank) waited \(peerTimeout) for '\(command)' from \(peer.map { "rank \($0)" } ?? "any rank")"
                               + droppedSummary)
            }
            let received: ReceivedFrames?
            do { received = try incoming.socket.receive(timeout: .milliseconds(20), readsUserID: security != nil) } catch { throw .wire(error) }
            guard let received else { continue }
            guard let first = received.frames.first, let from = sender(named: first) else {
                drop(received.isOversize ? .malformed : .notAPeer)   // an oversize message keeps no routing id
                continue
            }
            if security != nil && !(received.userID ?? "").split(separator: ",").contains(Substring("r\(from)")) {
                drop(.notAPeer)                 // a gang member's key under another rank's routing id
                continue
            }
            guard !received.truncated, let message = try? Message(frames: received.frames.dropFirst()) else {
                drop(.malformed)
                continue
            }
            if message.command.hasPrefix(Self.barrierPrefix) && !isBarrierToken(message, from: from) {
                drop(.forgedBarrier)
                continue
            }
            if message.command == command && (peer == nil || from == peer) { return (from, message) }
            let bytes = message.header.count + message.payload.reduce(0) { $0 + $1.count }
            guard pendingPerPeer[from, default: 0] < limits.pendingMessagesPerPeer,
                  pendingBytes + bytes <= limits.pendingBytes else {
                drop(.pendingFull)
                continue
            }
            pending.append((from, message, bytes))
            pendingPerPeer[from, default: 0] += 1
            pendingBytes += bytes
        }
    }

    /// The rank a routing id `r<rank>` names, if that rank links to this one.
    private func sender(named id: Data) -> Int? {
        guard id.count >= 2, id.count <= 11, id.first == UInt8(ascii: "r"),
              let rank = Int(String(decoding: id.dropFirst(), as: UTF8.self)), senders.contains(rank) else { return nil }
        return rank
    }

    private func drop(_ reason: Drop) {
        dropped[reason, default: 0] += 1
    }

    /// For timeout errors: what was dropped, which often says why the wait failed.
    private var droppedSummary: String {
        guard !dropped.isEmpty else { return "" }
        return " (dropped from the peer socket: " + Drop.allCases.compactMap { reason in
            dropped[reason].map { "\($0) \(reason.rawValue)" }
        }.joined(separator: ", ") + ")"
    }

    static let barrierPrefix = "barrier:"

    /// A barrier token: its header is exactly the sending rank (u32), and it has no payload.
    private func barrierToken(round: Int) -> Message {
        var header = ByteWriter()
        header.write(UInt32(rank))
        return Message(Self.barrierPrefix + String(round), header: header.data)
    }

    /// Whether `message` is a barrier token that names `rank`, the rank whose routing id it came under.
    private func isBarrierToken(_ message: Message, from rank: Int) -> Bool {
        var reader = ByteReader(message.header)
        guard message.payload.isEmpty, let named = try? reader.readUInt32("barrier rank"), (try? reader.finish("a barrier token")) != nil
        else { return false }
        return Int(named) == rank
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
        let token = barrierToken(round: round)
        let command = token.command
        func receiveRound(from peer: Int?) throws(ClusterError) {
            _ = try receive(command, from: peer, context: task)
        }
        switch topology {
        case .mesh:
            for peer in 0..<size where peer != rank { try send(token, to: peer) }
            // One token from each peer by name: two from one rank never stand in for another's.
            for peer in 0..<size where peer != rank { try receiveRound(from: peer) }
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
        pendingPerPeer = [:]
        pendingBytes = 0
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
