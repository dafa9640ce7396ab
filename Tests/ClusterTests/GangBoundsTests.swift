import Foundation
import Testing
import TensorCore
import Wire
@testable import Cluster

/// Gang ranks under a hostile peer: forged barrier tokens never pass a barrier, early and unknown
/// messages stay within `GangMembership.Limits`, and every drop is counted.
///
/// The ranks run in this process, each on its own thread with real sockets on tcp loopback, so
/// the test can read their counters and give them small limits; the hostile peers are plain
/// DEALERs that connect to a rank's peer endpoint as another process would.
@Suite(.serialized) struct GangBoundsTests {
    static let host = HostIdentity.current.text

    /// `size` bound ranks of one gang attempt, with every rank's endpoint delivered.
    static func makeGang(size: Int, limits: GangMembership.Limits = .standard,
                         peerTimeout: Duration = .seconds(10)) throws -> (Context, [GangMembership], [String]) {
        let context = try Context()
        let ranks = (0..<size).map { rank in
            GangMembership(slot: GangSlot(rank: rank, size: size, keys: Array(repeating: "", count: size)), taskID: 1, attempt: 1,
                           context: context, security: nil, zap: nil, advertisedHost: "127.0.0.1",
                           peerTimeout: peerTimeout, limits: limits)
        }
        let endpoints = try ranks.map { try $0.bind() }
        for rank in ranks { rank.deliver(endpoints: endpoints, hosts: Array(repeating: host, count: size)) }
        return (context, ranks, endpoints)
    }

    /// A DEALER that calls itself `id` and connects to `endpoint`.
    static func hostile(_ context: Context, id: String, to endpoint: String) throws -> SocketBox {
        let socket = try Socket(context, kind: .dealer)
        try socket.set(.routingID(id))
        try socket.set(.sendHighWaterMark(0))
        try socket.connect(endpoint)
        return SocketBox(socket)
    }

    /// A barrier token as `rank` would send it (a header naming `rank`), or with no header.
    static func token(round: Int, naming rank: Int?) -> [Data] {
        var header = ByteWriter()
        if let rank { header.write(UInt32(rank)) }
        return Message("barrier:\(round)", header: header.data).frames
    }

    /// Runs `body` for each rank on its own thread; returns each rank's error (nil: finished).
    static func run(_ ranks: [GangMembership], _ body: @escaping @Sendable (GangMembership, TaskContext) throws -> Void) -> [String?] {
        let outcomes = OutcomeBox(count: ranks.count)
        let group = DispatchGroup()
        for (index, rank) in ranks.enumerated() {
            group.enter()
            let thread = Thread {
                let task = TaskContext(taskID: 1, attempt: 1, gang: rank)
                do { try body(rank, task) } catch { outcomes.set(index, "\(error)") }
                rank.tearDown()
                group.leave()
            }
            thread.start()
        }
        group.wait()
        return outcomes.values
    }

    /// Old rank 0 of a mesh of 3 counted any two `barrier:-1` tokens as its two peers: a DEALER
    /// calling itself `r0` passed the mesh check for it. Now only each real peer's own token
    /// counts: with ranks 1 and 2 silent, rank 0 times out, and every forgery is counted.
    @Test func forgedBarrierTokensNeverPassABarrier() throws {
        let (context, ranks, endpoints) = try Self.makeGang(size: 3, peerTimeout: .seconds(1))
        let forgers = try [("r0", 0 as Int?), ("r7", 7), ("x", 1), ("r1", 2), ("r2", nil)].map { id, naming in
            (try Self.hostile(context, id: id, to: endpoints[0]), naming)
        }
        for (box, naming) in forgers {
            for _ in 0..<3 { try box.socket.send(Self.token(round: -1, naming: naming)) }
        }
        let outcome = Self.run([ranks[0]]) { rank, task in try rank.connect(topology: .mesh, context: task) }[0]
        let error = try #require(outcome, "rank 0 passed barrier -1 on forged tokens alone")
        #expect(error.contains("barrier:-1") && error.contains("from rank 1"), "\(error)")
        // r0 (itself), r7 (no such rank) and x: not a peer. r1 naming rank 2, r2 naming nobody: forged.
        #expect(ranks[0].dropped[.notAPeer] == 9, "\(ranks[0].dropped)")
        #expect(ranks[0].dropped[.forgedBarrier] == 6, "\(ranks[0].dropped)")
        #expect(error.contains("9 not_a_peer") && error.contains("6 forged_barrier"), "the timeout names the drops: \(error)")
    }

    /// With CURVE, a member cannot speak for another: rank 2's key under rank 1's routing id is
    /// dropped, so rank 0 does not pass barrier −1 on rank 2's token and a forged rank 1 token.
    @Test(.enabled(if: Context.hasCurve)) func aMemberKeyCannotSpeakForAnotherRank() throws {
        let context = try Context()
        let pairs = try (0..<3).map { _ in try CurveKeyPair.generate() }
        let zap = try ZAPHandler(context: context, allowList: AllowList([]))
        defer { zap.stop() }
        let ranks = (0..<3).map { rank in
            GangMembership(slot: GangSlot(rank: rank, size: 3, keys: pairs.map(\.publicKey.text)), taskID: 1, attempt: 1,
                           context: context, security: CurveClientSecurity(keys: pairs[rank], serverPublicKey: pairs[0].publicKey),
                           zap: zap, advertisedHost: "127.0.0.1", peerTimeout: .seconds(2))
        }
        let endpoints = try ranks.map { try $0.bind() }
        for rank in ranks { rank.deliver(endpoints: endpoints, hosts: Array(repeating: Self.host, count: 3)) }
        let impostor = try Socket(context, kind: .dealer)
        try impostor.set(.routingID("r1"))
        try impostor.set(.curveClient(keys: pairs[2], serverPublicKey: pairs[0].publicKey))
        try impostor.connect(endpoints[0])
        for _ in 0..<3 { try impostor.send(Self.token(round: -1, naming: 1)) }
        // Ranks 0 and 2 run; rank 1 stays silent, so only the impostor could complete rank 0's barrier.
        let outcomes = Self.run([ranks[0], ranks[2]]) { rank, task in try rank.connect(topology: .mesh, context: task) }
        #expect(outcomes[0] != nil, "rank 0 passed barrier −1 on a token rank 2's key sent as rank 1")
        #expect(ranks[0].dropped[.notAPeer] == 3, "\(ranks[0].dropped)")
    }

    /// A ring's rank hears only from the rank before it: a token from the rank after it (which
    /// really is a member) is dropped too.
    @Test func aRingRankHearsOnlyItsPredecessor() throws {
        let (context, ranks, endpoints) = try Self.makeGang(size: 3, peerTimeout: .seconds(1))
        let impostor = try Self.hostile(context, id: "r1", to: endpoints[0])   // rank 0 hears rank 2 only
        for _ in 0..<4 { try impostor.socket.send(Self.token(round: -1, naming: 1)) }
        let outcome = Self.run([ranks[0]]) { rank, task in try rank.connect(topology: .ring, context: task) }[0]
        #expect(outcome != nil, "rank 0 of a ring passed its barrier without rank 2")
        #expect(ranks[0].dropped[.notAPeer] == 4, "\(ranks[0].dropped)")
    }

    /// A member floods its peer with unknown tags, early barrier tokens and 64 KiB payloads while
    /// a hostile outsider floods too; the gang still passes 20 barriers and swaps tensors, and
    /// what waits in `pending` never passes the limits.
    @Test func floodsStayBoundedAndTheGangCompletes() throws {
        let limits = GangMembership.Limits(pendingMessagesPerPeer: 16, pendingBytes: 512 * 1024)
        let (context, ranks, endpoints) = try Self.makeGang(size: 2, limits: limits, peerTimeout: .seconds(3))
        let outsider = try Self.hostile(context, id: "r0", to: endpoints[0])
        let junk = Data(count: 64 * 1024)
        for index in 0..<500 { try outsider.socket.send(Message("t:junk\(index)", payload: [junk]).frames) }
        let peak = PeakBox()
        let outcomes = Self.run(ranks) { rank, task in
            try rank.connect(topology: .mesh, context: task)
            if rank.rank == 1 {
                for index in 0..<300 {
                    try rank.send(Message("t:unknown\(index)", payload: [junk]), to: 0)
                    var header = ByteWriter()
                    header.write(UInt32(1))
                    try rank.send(Message("barrier:\(1000 + index)", header: header.data), to: 0)  // early, never used
                }
            }
            for round in 0..<20 {
                try rank.barrier(round: round, context: task)
                peak.note(count: rank.pendingCount, bytes: rank.pendingBytes)
            }
            let other = 1 - rank.rank
            let tensor = try Tensor(shape: [1000], storage: (0..<1000).map { Float($0 + rank.rank) })
            try rank.send(tensor, to: other, tag: "swap", forceFrames: true)
            let got = try rank.receiveTensor("swap", from: other)
            guard got.storage.first == Float(other) else { throw ClusterError.gangFailed("rank \(rank.rank) got the wrong tensor") }
            try rank.barrier(round: Int.max, context: task)
            // Rank 0 reads on until the outsider's whole flood has come in (each wait ends after
            // the peer timeout), so the count below is exact.
            let end = ContinuousClock.now + .seconds(20)
            while rank.rank == 0 && (rank.dropped[.notAPeer] ?? 0) < 500 && ContinuousClock.now < end {
                _ = try? rank.receive("t:never-sent", from: 1, context: task)
            }
        }
        #expect(outcomes.allSatisfy { $0 == nil }, "\(outcomes)")
        #expect(peak.count <= 16 && peak.bytes <= 512 * 1024, "pending reached \(peak.count) messages, \(peak.bytes) bytes")
        let dropped = ranks[0].dropped
        #expect(dropped[.notAPeer] == 500, "\(dropped)")
        // 600 early messages from rank 1; at most 16 fit (fewer by bytes: 7 junk payloads fill 512 KiB).
        #expect((dropped[.pendingFull] ?? 0) >= 600 - 16, "\(dropped)")
    }
}

/// Each rank thread's error, collected under a lock.
final class OutcomeBox: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var outcomes: [String?]
    init(count: Int) { outcomes = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ error: String) { lock.withLock { outcomes[index] = error } }
    var values: [String?] { lock.withLock { outcomes } }
}

/// The most messages and bytes seen waiting in any rank's `pending`.
final class PeakBox: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var peak = (count: 0, bytes: 0)
    func note(count: Int, bytes: Int) { lock.withLock { peak = (max(peak.count, count), max(peak.bytes, bytes)) } }
    var count: Int { lock.withLock { peak.count } }
    var bytes: Int { lock.withLock { peak.bytes } }
}
