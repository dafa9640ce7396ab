import SequenceParallel

/// The forward pass of a ring schedule (plain or zigzag), replayed on a modelled network from the
/// very `RingSchedule` values the executor runs: each rank's steps in order, its blocks' work at
/// a given compute rate, and each K/V hand-off as a transfer on the network.
///
/// A rank starts step s + 1 when its step s compute is done, the K/V chunks for step s + 1 have
/// arrived, and its own send of step s has left (the executor reuses that buffer).
public struct RingReplay {
    public struct Problem: Sendable {
        public var tokens: Int, ranks: Int, causal: Bool, heads: Int, keyHeads: Int, headDimension: Int
        public init(tokens: Int, ranks: Int, causal: Bool, heads: Int, keyHeads: Int, headDimension: Int) {
            self.tokens = tokens; self.ranks = ranks; self.causal = causal; self.heads = heads
            self.keyHeads = keyHeads; self.headDimension = headDimension
        }
    }

    /// What the replay predicts.
    public struct Result: Sendable {
        /// When the last rank finished its last step.
        public var total: Double
        /// When each rank finished each step (rank × step).
        public var stepEnds: [[Double]]
        /// Each rank's time computing.
        public var computeSeconds: [Double]
        /// Bytes put on the network (the schedule's formula).
        public var bytes: Int
        /// Rank 0's share of its wall time spent computing.
        public var computeFraction: Double { computeSeconds[0] / stepEnds[0].last! }
    }

    public let algorithm: SequenceParallelKinds.Algorithm
    public let problem: Problem
    /// Useful FLOP/s of one rank's attention blocks (4 FLOPs per visible query–key pair per head
    /// and head dimension: QKᵀ and PV).
    public let computeRate: Double
    public let network: Network

    /// - Precondition: `algorithm` is ring or zigzag_ring, and the network has one node per rank.
    public init(algorithm: SequenceParallelKinds.Algorithm, problem: Problem, computeRate: Double, network: Network) {
        precondition(algorithm == .ring || algorithm == .zigzagRing, "RingReplay replays ring schedules")
        precondition(network.nodes == problem.ranks, "one network node per rank")
        self.algorithm = algorithm; self.problem = problem; self.computeRate = computeRate; self.network = network
    }

    private enum Event { case computed(rank: Int, step: Int) }

    public func run() throws(Network.Problem) -> Result {
        let p = problem, ranks = p.ranks
        let layout = ShardLayout(tokens: p.tokens, ranks: ranks, kind: algorithm == .zigzagRing ? .zigzag : .contiguous)
        let schedules = (0..<ranks).map { RingSchedule(layout: layout, rank: $0, isCausal: p.causal) }
        let steps = schedules[0].steps.count
        // Work of each rank's step, in seconds.
        let work: [[Double]] = schedules.map { schedule in
            let mine = layout.chunks(ofRank: schedule.rank)
            return schedule.steps.map { step in
                let held = layout.chunks(ofRank: step.keyOwner)
                var pairs = 0
                for block in step.blocks {
                    let q = layout.range(ofChunk: mine[block.queryChunk]).count, k = layout.range(ofChunk: held[block.keyChunk]).count
                    pairs += block.mask == .full ? q * k : q * (q + 1) / 2
                }
                return 4 * Double(pairs) * Double(p.heads * p.headDimension) / computeRate
            }
        }
        let live = LiveNetwork(network: network)
        var events = EventQueue<Event>()
        var stepEnds = [[Double]](repeating: [Double](repeating: .nan, count: steps), count: ranks)
        var computeSeconds = [Double](repeating: 0, count: ranks)
        var computed = [Int](repeating: -1, count: ranks)         // last step whose compute is done
        var arrived = [Set<Int>](repeating: [], count: ranks)      // steps whose K/V has arrived
        var sent = [Set<Int>](repeating: [], count: ranks)         // steps whose send has left
        var started = [Int](repeating: -1, count: ranks)
        var flows: [Int: (from: Int, to: Int, step: Int)] = [:]
        var bytes = 0

        func start(_ rank: Int, _ step: Int) throws(Network.Problem) {
            started[rank] = step
            let now = live.now
            let schedule = schedules[rank].steps[step]
            if let next = schedule.sendTo {
                let size = 2 * layout.tokenCount(ofRank: schedule.keyOwner) * p.keyHeads * p.headDimension * 4
                bytes += size
                flows[try live.add(from: rank, to: next, bytes: Double(size))] = (rank, next, step)
            } else {
                sent[rank].insert(step)
            }
            computeSeconds[rank] += work[rank][step]
            events.schedule(.computed(rank: rank, step: step), at: now + work[rank][step])
        }
        func ready(_ rank: Int) -> Bool {
            let step = computed[rank]
            guard step == started[rank], step + 1 < steps else { return false }
            return arrived[rank].contains(step) && sent[rank].contains(step)
        }

        for rank in 0..<ranks { try start(rank, 0) }
        while true {
            let computeAt = events.nextTime ?? .infinity, networkAt = live.nextChange ?? .infinity
            let at = min(computeAt, networkAt)
            guard at.isFinite else { break }
            var touched: [Int] = []
            for flow in live.advance(to: at) {
                let info = flows.removeValue(forKey: flow)!
                sent[info.from].insert(info.step)
                arrived[info.to].insert(info.step)
                touched += [info.from, info.to]
            }
            while let time = events.nextTime, time <= at, case let .computed(rank, step)? = events.next()?.payload {
                computed[rank] = step
                stepEnds[rank][step] = time
                touched.append(rank)
            }
            for rank in Set(touched).sorted() where ready(rank) { try start(rank, computed[rank] + 1) }
        }
        // A step ends when its compute is done and its hand-off has completed.
        for rank in 0..<ranks { for step in 0..<steps where stepEnds[rank][step].isNaN { stepEnds[rank][step] = live.now } }
        return Result(total: stepEnds.map { $0.last! }.max() ?? 0, stepEnds: stepEnds, computeSeconds: computeSeconds, bytes: bytes)
    }
}

extension Network {
    /// P nodes in a ring: link r joins r and r + 1 (mod P), each `bandwidth` bytes/s per direction
    /// with latency `latency`.
    public static func ring(_ nodes: Int, bandwidth: Double, latency: Double) throws(Problem) -> Network {
        guard nodes >= 2 else { return try Network(nodes: max(1, nodes), links: []) }
        let count = nodes == 2 ? 1 : nodes
        return try Network(nodes: nodes, links: (0..<count).map { Link(from: $0, to: ($0 + 1) % nodes, bandwidth: bandwidth, latency: latency) })
    }
}
