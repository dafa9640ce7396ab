import SequenceParallel
import TensorCore

/// The forward or backward pass of a sequence-parallel schedule (ring, zigzag ring, TokenRing,
/// Ulysses, USP), replayed on a modelled network from the very schedule values the executor runs: each
/// rank's steps in order, its blocks' work at a compute rate, and every transfer of
/// `Algorithm.forwardTransfers` or `backwardTransfers` (the executor's own lists, bytes
/// included) as a flow.
///
/// A transfer is posted at the start of its sender's step, or after that step's compute when it
/// is a result (TokenRing's partial outputs). A rank moves past step s when its compute is done,
/// every transfer the step posted at its start has left (the executor reuses those buffers), and
/// every transfer it takes at step s has arrived; it finishes when its last step is past and all
/// its transfers, results included, have arrived. Ranks are the network's first P nodes; any
/// further nodes are switches.
public struct ScheduleReplay {
    public struct Problem: Sendable, Equatable {
        public var tokens: Int, ranks: Int, causal: Bool, heads: Int, keyHeads: Int, headDimension: Int
        /// Bytes per element on the wire: 4 (float32, the executor's), 2 for bf16 or fp16 on GPUs.
        public var elementBytes: Int
        /// usp's ranks per Ulysses group u (`ulysses_degree`); the other algorithms ignore it.
        public var ulyssesDegree: Int
        public init(tokens: Int, ranks: Int, causal: Bool, heads: Int, keyHeads: Int, headDimension: Int, elementBytes: Int = 4,
                    ulyssesDegree: Int = 1) {
            self.tokens = tokens; self.ranks = ranks; self.causal = causal; self.heads = heads
            self.keyHeads = keyHeads; self.headDimension = headDimension; self.elementBytes = elementBytes
            self.ulyssesDegree = ulyssesDegree
        }
    }

    /// What the replay predicts.
    public struct Result: Sendable {
        /// When the last rank finished.
        public var total: Double
        /// When each rank moved past each step (rank × step); the last is when it finished. Beyond
        /// `timelineRanks` ranks, every rank but 0 holds its last step only.
        public var stepEnds: [[Double]]
        /// When each rank began each step, and its compute in it (rank × step), kept as `stepEnds`.
        public var stepStarts: [[Double]], stepCompute: [[Double]]
        /// The transfers replayed (the executor's list, in this problem's element size); empty
        /// beyond `timelineRanks` ranks.
        public var transferList: [ScheduledTransfer]
        /// Each rank's time computing.
        public var computeSeconds: [Double]
        /// Bytes put on the network (the schedule's formula).
        public var bytes: Int
        /// Transfers simulated.
        public var transfers: Int
        /// Steps simulated, over all ranks.
        public var stepsReplayed: Int
        /// Rank 0's share of its wall time spent computing.
        public var computeFraction: Double { computeSeconds[0] / stepEnds[0].last! }
    }

    /// The forward pass, or the backward pass (as the executor runs it after a forward).
    public enum Pass: String, Sendable { case forward, backward }

    public let algorithm: SequenceParallelKinds.Algorithm
    public let problem: Problem
    public let pass: Pass
    /// Useful FLOP/s of one rank's attention blocks: 4 FLOPs per visible query–key pair per head
    /// and head dimension forward (QKᵀ and PV), 2.5× that backward (the recomputed scores, dP,
    /// dV, dQ and dK), as `loom bench attention` counts them.
    public let computeRate: Double
    public let network: Network
    /// Cores the ranks share (local workers on one machine: P = 4 on 2 cores), or nil for a core
    /// (a GPU) per rank. Computing ranks share them fairly, none faster than one core.
    public let cores: Int?
    /// Useful FLOP/s of the causal diagonal blocks (counted by their visible pairs), when measured
    /// apart: their masked tiles run slower per useful FLOP than full blocks. Nil: `computeRate`.
    public let diagonalRate: Double?
    /// Bytes/s of the merges (`Topology.Compute.mergeRate`), or nil: merges cost nothing.
    public let mergeRate: Double?
    /// While a rank has a transfer in flight (sent or received), its compute runs 1/(1 + s) as
    /// fast: GPU kernels and communication share the SMs and memory. 0: no slowdown. Ranks that
    /// share cores (`cores`) do not take it.
    public let transferSlowdown: Double
    /// With ranks sharing cores: the fraction of the cores' fair share they reach together when
    /// more ranks than cores compute (time-slicing costs caches and switches); measured, ≤ 1.
    public let coreEfficiency: Double
    /// Bytes/s at which a rank copies a transfer in or out on its own core (local workers: the
    /// sender copies a tensor into a shared-memory slot, the receiver copies it out into fresh
    /// memory), or nil: transfers cost no compute (GPUs: DMA engines move them). The sender pays
    /// at the step that posts a transfer, the receiver at the step that takes it.
    public let hostCopyRate: Double?
    /// With `cores`: each rank pinned to core `rank mod cores` and sharing only that core with
    /// the other computing ranks pinned there (local workers run with `pin_cores`), instead of
    /// all ranks sharing all cores.
    public let pinned: Bool
    /// The fraction of the links' point-to-point bandwidth an all-to-all gets (Ulysses' two
    /// exchanges, usp's group exchanges): 1 moves them as any transfer; below 1 each of their
    /// flows takes bytes/e of link time, for collectives that run below their links (an
    /// all-to-all staged through host memory on PCIe without peer access). Bytes counted stay
    /// the schedule's.
    public let allToAllEfficiency: Double

    /// - Precondition: the network has a node for every rank (ranks are nodes 0 ..< P); cores ≥ 1.
    public init(algorithm: SequenceParallelKinds.Algorithm, problem: Problem, pass: Pass = .forward, computeRate: Double, network: Network,
                cores: Int? = nil, diagonalRate: Double? = nil, mergeRate: Double? = nil, transferSlowdown: Double = 0,
                coreEfficiency: Double = 1, hostCopyRate: Double? = nil, pinned: Bool = false, allToAllEfficiency: Double = 1) {
        precondition(network.nodes >= problem.ranks, "one network node per rank")
        precondition((cores ?? 1) >= 1, "at least one core")
        precondition(transferSlowdown >= 0 && transferSlowdown.isFinite, "a slowdown is zero or more")
        self.algorithm = algorithm; self.problem = problem; self.pass = pass; self.computeRate = computeRate; self.network = network
        self.cores = cores; self.diagonalRate = diagonalRate; self.mergeRate = mergeRate
        self.transferSlowdown = transferSlowdown
        precondition(coreEfficiency > 0 && coreEfficiency <= 1, "a core efficiency is in (0, 1]")
        self.coreEfficiency = coreEfficiency
        precondition(hostCopyRate.map { $0 > 0 && $0.isFinite } ?? true, "a host copy rate is positive")
        self.hostCopyRate = hostCopyRate
        self.pinned = pinned
        precondition(allToAllEfficiency > 0 && allToAllEfficiency <= 1, "an all-to-all efficiency is in (0, 1]")
        self.allToAllEfficiency = allToAllEfficiency
    }

    /// Whether `transfer` belongs to an all-to-all: every transfer of Ulysses, and usp's at its
    /// first and last steps (the group exchanges; its ring steps lie between).
    func isAllToAll(_ transfer: PlannedTransfer) -> Bool {
        switch algorithm {
        case .ulysses: true
        case .usp: transfer.step == 0 || transfer.step == problem.ranks / max(1, problem.ulyssesDegree) + 1
        default: false
        }
    }

    /// Compute as flows of work (in seconds of one core) from each rank through its own core
    /// (capacity 1) and a pool of `cores` (capacity `cores`): max-min fair sharing is then
    /// processor sharing with no rank above one core. Pinned, each core is its own pool (capacity
    /// 1) and rank r reaches only pool r mod `cores`.
    static func coreNetwork(ranks: Int, cores: Int, efficiency: Double = 1, pinned: Bool = false) throws(Network.Problem) -> Network {
        let pools = pinned ? cores : 1, sink = ranks + pools
        return try Network(nodes: ranks + pools + 1,
                           links: (0..<ranks).map { Network.Link(from: $0, to: ranks + $0 % pools, bandwidth: 1, latency: 0) }
                               + (0..<pools).map { Network.Link(from: ranks + $0, to: sink, bandwidth: Double(cores / pools) * efficiency, latency: 0) })
    }

    /// Why the problem's shape does not suit the algorithm (the executor's own rules), or nil.
    public static func shapeProblem(_ algorithm: SequenceParallelKinds.Algorithm, _ p: Problem) -> String? {
        let zigzag = algorithm == .zigzagRing || ((algorithm == .tokenring || algorithm == .usp) && p.causal)
        let chunks = zigzag ? 2 * p.ranks : p.ranks   // usp: sub-ranges, one or two per rank
        if p.ranks < 1 { return "give at least one rank" }
        if ![1, 2, 4, 8].contains(p.elementBytes) { return "an element is 1, 2, 4 or 8 bytes, not \(p.elementBytes)" }
        if p.tokens < chunks { return "\(p.tokens) tokens cannot be cut into \(chunks) chunks for \(algorithm.rawValue) on \(p.ranks) ranks; give tokens ≥ \(chunks)" }
        if p.heads < 1 || p.keyHeads < 1 || p.heads % p.keyHeads != 0 || p.headDimension < 1 {
            return "heads (\(p.heads)) must be a positive multiple of kv_heads (\(p.keyHeads)), and the head dimension (\(p.headDimension)) positive"
        }
        if algorithm == .ulysses && (p.heads % p.ranks != 0 || p.keyHeads % p.ranks != 0) {
            return "ulysses splits heads over the ranks: \(p.ranks) ranks must divide heads (\(p.heads)) and kv_heads (\(p.keyHeads)); use ring, zigzag_ring or tokenring"
        }
        if algorithm == .usp, let problem = HybridSchedule.degreeProblem(p.ulyssesDegree, ranks: p.ranks, heads: p.heads, keyHeads: p.keyHeads) {
            return problem
        }
        return nil
    }

    /// Seconds of compute of each rank's steps.
    func work() -> [[Double]] {
        let p = problem, flopsPerPair = (pass == .forward ? 4 : 10) * Double(p.heads * p.headDimension)
        let perPair = flopsPerPair / computeRate, perDiagonalPair = flopsPerPair / (diagonalRate ?? computeRate)
        // Seconds of a block: its visible pairs at the rate of its kind.
        func pairs(_ q: Int, _ k: Int, _ mask: BlockMask) -> Double {
            mask == .full ? Double(q * k) * perPair : Double(q * (q + 1) / 2) * perDiagonalPair
        }
        // Backward, TokenRing runs the ring's steps on its own layout (K/V travel, partials go home).
        let ringSteps = algorithm == .ring || algorithm == .zigzagRing || (algorithm == .tokenring && pass == .backward)
        switch algorithm {
        case _ where ringSteps:
            let zigzag = algorithm == .zigzagRing || (algorithm == .tokenring && p.causal)
            let layout = ShardLayout(tokens: p.tokens, ranks: p.ranks, kind: zigzag ? .zigzag : .contiguous)
            return (0..<p.ranks).map { rank in
                let mine = layout.chunks(ofRank: rank)
                return RingSchedule(layout: layout, rank: rank, isCausal: p.causal).steps.map { step in
                    let held = layout.chunks(ofRank: step.keyOwner)
                    return step.blocks.reduce(0.0) { sum, block in
                        sum + pairs(layout.range(ofChunk: mine[block.queryChunk]).count, layout.range(ofChunk: held[block.keyChunk]).count, block.mask)
                    }
                }
            }
        case .tokenring:
            // After its P steps a rank takes its queries' partial results and merges them: a tail
            // step P, as the executor's timeline has (the merge's arithmetic is not counted).
            return (0..<p.ranks).map { rank in
                let schedule = TokenRingSchedule(tokens: p.tokens, ranks: p.ranks, rank: rank, isCausal: p.causal)
                let layout = schedule.layout, mine = layout.chunks(ofRank: rank)
                return schedule.steps.map { step in
                    let owner = layout.chunks(ofRank: step.queryOwner)
                    return step.blocks.reduce(0.0) { sum, block in
                        sum + pairs(layout.range(ofChunk: owner[block.queryChunk]).count, layout.range(ofChunk: mine[block.keyChunk]).count, block.mask)
                    }
                } + [0]
            }
        case .ulysses:
            // Step 0 sends q | k | v (backward: ∂L/∂out), step 1 is the whole sequence on H/P heads,
            // step 2 sends the results back.
            let seconds = pairs(p.tokens, p.tokens, p.causal ? .causal : .full) / Double(p.ranks)
            return (0..<p.ranks).map { _ in [0, seconds, 0] }
        case .usp:
            // Step 0 the group all-to-all, steps 1 … r the group's ring steps on H/u heads, step
            // r + 1 the all-to-all back; forward and backward have the same steps.
            return (0..<p.ranks).map { rank in
                let schedule = HybridSchedule(tokens: p.tokens, ranks: p.ranks, ulyssesDegree: p.ulyssesDegree, rank: rank, heads: p.heads,
                                              keyHeads: p.keyHeads, isCausal: p.causal)
                let layout = schedule.ringLayout, mine = layout.chunks(ofRank: schedule.group)
                let ring = schedule.ring.steps.map { step in
                    let held = layout.chunks(ofRank: step.keyOwner)
                    return step.blocks.reduce(0.0) { sum, block in
                        sum + pairs(layout.range(ofChunk: mine[block.queryChunk]).count, layout.range(ofChunk: held[block.keyChunk]).count, block.mask)
                    } / Double(p.ulyssesDegree)
                }
                return [0] + ring + [0]
            }
        default:
            preconditionFailure("every algorithm is covered above")
        }
    }

    /// A step's compute ends, unless its rank's compute was rescheduled since (`stamp` is older).
    private enum Event { case computed(rank: Int, step: Int, stamp: Int) }

    /// Up to this many ranks, `Result` holds every rank's steps and the transfer list (a trace
    /// needs them); beyond, rank 0's steps and each rank's finish only, so memory stays ∝ P.
    public static let timelineRanks = 512

    /// - Throws: `Network.Problem` for a shape the algorithm cannot take, or ranks the network cannot connect.
    public func run() throws(Network.Problem) -> Result { try run(table: false) }

    /// About the most memory the flows in flight hold at once (nil past Int): an all-to-all posts
    /// every pair of its group together, and each flow keeps its route (two Ints a hop, in
    /// `LiveNetwork`) and about half a kilobyte of state and queue entries. The routes are
    /// measured from rank 0. An all-to-all of 1,024 ranks on a line once grew past 7 GB.
    func flowBytes() throws(Network.Problem) -> Int? {
        let ranks = problem.ranks
        let flows: Int? = switch algorithm {
        case .ulysses: MemoryBudget.product([ranks, max(0, ranks - 1)])
        case .usp: MemoryBudget.product([ranks, max(1, problem.ulyssesDegree)])
        case .ring, .zigzagRing, .tokenring: MemoryBudget.product([ranks, 2])
        }
        let tree = network.routeTree(from: 0)
        var hops = 0
        for rank in 1..<max(2, ranks) where rank < network.nodes { hops = max(hops, try network.route(from: 0, to: rank, tree: tree).resources.count) }
        guard let flows else { return nil }
        return MemoryBudget.product([flows, 512 + 16 * hops])
    }

    /// - Parameter table: make every step up front even for the ring schedules (tests compare both).
    func run(table: Bool) throws(Network.Problem) -> Result {
        let p = problem, ranks = p.ranks
        if let problem = Self.shapeProblem(algorithm, p) { throw Network.Problem(description: problem) }
        if let excess = MemoryBudget.excess(try flowBytes(), "replaying \(algorithm.rawValue) on \(ranks) ranks (the transfers in flight at once)",
                                            taker: "the simulator") {
            throw Network.Problem(description: excess + "; give fewer ranks, or a topology with shorter routes")
        }
        let source = stepSource(table: table)
        let keep = ranks <= Self.timelineRanks
        let steps = (0..<ranks).map { source.stepCount(of: $0) }
        let stride = (steps.max() ?? 0) + 1
        var arrived: [Int: Int] = [:]                                    // rank × stride + step → transfers taken
        var plans: [PlannedStep] = []
        plans.reserveCapacity(ranks)
        var leftToSend = [Int](repeating: 0, count: ranks)              // the current step's start-posted sends in flight
        var unsent = [Int](repeating: 0, count: ranks)                   // every send not yet delivered
        let live = LiveNetwork(network: network)
        var events = EventQueue<Event>()
        // With shared cores, each step's compute is a flow on the cores' network instead of an event.
        let shared = cores.map { $0 < ranks } ?? false
        let sink = ranks + (pinned ? cores ?? 1 : 1)
        let cpu = shared ? LiveNetwork(network: try Self.coreNetwork(ranks: ranks, cores: cores!, efficiency: coreEfficiency, pinned: pinned)) : nil
        var computing: [Int: Int] = [:]                                  // live compute flow → rank
        var stepEnds = [[Double]](repeating: [], count: ranks), stepStarts = stepEnds, stepCompute = stepEnds
        var computeSeconds = [Double](repeating: 0, count: ranks)
        var current = [Int](repeating: 0, count: ranks), computed = [Bool](repeating: false, count: ranks)
        var finished = [Bool](repeating: false, count: ranks)
        var flows: [PlannedTransfer?] = []                               // live flow (ids are reused) → transfer
        var bytes = 0, transferCount = 0, stepsReplayed = 0
        // The slowdown: each rank's transfers in flight, its compute left (seconds at full speed)
        // as of `since`, whether it computes, and the stamp of its pending end.
        let slowdown = cpu == nil ? transferSlowdown : 0
        var inFlight = [Int](repeating: 0, count: ranks), left = [Double](repeating: 0, count: ranks)
        var since = left, began = left, busy = [Bool](repeating: false, count: ranks), stamps = [Int](repeating: 0, count: ranks)
        func rate(_ rank: Int) -> Double { inFlight[rank] > 0 ? 1 / (1 + slowdown) : 1 }
        func reschedule(_ rank: Int) {
            stamps[rank] += 1
            events.schedule(.computed(rank: rank, step: current[rank], stamp: stamps[rank]), at: live.now + left[rank] / rate(rank))
        }
        /// Counts a transfer starting (+1) or ending (−1) at `rank`, re-timing its compute.
        func flight(_ rank: Int, _ change: Int) {
            guard slowdown > 0 else { return }
            if busy[rank] { left[rank] = max(0, left[rank] - (live.now - since[rank]) * rate(rank)); since[rank] = live.now }
            let wasSlow = inFlight[rank] > 0
            inFlight[rank] += change
            if busy[rank] && wasSlow != (inFlight[rank] > 0) { reschedule(rank) }
        }
        func post(_ transfer: PlannedTransfer) throws(Network.Problem) {
            bytes += transfer.bytes
            transferCount += 1
            unsent[transfer.from] += 1
            let scale = allToAllEfficiency < 1 && isAllToAll(transfer) ? 1 / allToAllEfficiency : 1
            let flow = try live.add(from: transfer.from, to: transfer.to, bytes: Double(transfer.bytes) * scale)
            if flow == flows.count { flows.append(transfer) } else { flows[flow] = transfer }
            flight(transfer.from, 1)
            flight(transfer.to, 1)
        }
        func start(_ rank: Int, _ step: Int) throws(Network.Problem) {
            let plan = source.plan(rank, step)
            if rank < plans.count { plans[rank] = plan } else { plans.append(plan) }
            stepsReplayed += 1
            current[rank] = step
            computed[rank] = false
            if keep || rank == 0 { stepStarts[rank].append(live.now); stepCompute[rank].append(plan.work) }
            leftToSend[rank] = plan.atStart.count
            for transfer in plan.atStart { try post(transfer) }
            var work = plan.work
            if let hostCopyRate {
                let sent = plan.atStart.reduce(0) { $0 + $1.bytes } + plan.afterCompute.reduce(0) { $0 + $1.bytes }
                work += Double(sent + plan.received) / hostCopyRate
            }
            if let cpu {
                computeSeconds[rank] += work
                computing[try cpu.add(from: rank, to: sink, bytes: work)] = rank
            } else {
                busy[rank] = true
                left[rank] = work
                since[rank] = live.now
                began[rank] = live.now
                reschedule(rank)
            }
        }
        func computeDone(_ rank: Int) throws(Network.Problem) {
            computed[rank] = true
            for transfer in plans[rank].afterCompute { try post(transfer) }
        }
        /// Moves `rank` past its step when it may: starts the next, or finishes.
        func advance(_ rank: Int) throws(Network.Problem) {
            let step = current[rank], last = steps[rank] - 1, key = rank * stride + step
            guard computed[rank], !finished[rank], leftToSend[rank] == 0, (arrived[key] ?? 0) == source.expected(rank, step) else { return }
            if step < last {
                arrived[key] = nil
                if keep || rank == 0 { stepEnds[rank].append(live.now) }
                try start(rank, step + 1)
            } else if unsent[rank] == 0 {
                arrived[key] = nil
                finished[rank] = true
                if keep || rank == 0 {
                    stepEnds[rank].append(live.now)
                } else {
                    stepStarts[rank] = [stepStarts[rank].last ?? live.now]; stepEnds[rank] = [live.now]; stepCompute[rank] = [plans[rank].work]
                }
            }
        }

        for rank in 0..<ranks { try start(rank, 0) }
        while true {
            let computeAt = min(events.nextTime ?? .infinity, cpu?.nextChange ?? .infinity), networkAt = live.nextChange ?? .infinity
            let at = min(computeAt, networkAt)
            guard at.isFinite else { break }
            var touched: [Int] = []
            for flow in live.advance(to: at) {
                let transfer = flows[flow]!
                flows[flow] = nil
                unsent[transfer.from] -= 1
                if !transfer.afterCompute { leftToSend[transfer.from] -= 1 }
                arrived[transfer.to * stride + transfer.receiveStep, default: 0] += 1
                flight(transfer.from, -1)
                flight(transfer.to, -1)
                touched += [transfer.from, transfer.to]
            }
            // After the network has reached `at`, so results posted now start now.
            for flow in cpu?.advance(to: at) ?? [] {
                let rank = computing.removeValue(forKey: flow)!
                try computeDone(rank)
                touched.append(rank)
            }
            while let time = events.nextTime, time <= at, case let .computed(rank, _, stamp)? = events.next()?.payload {
                guard stamp == stamps[rank] else { continue }   // re-timed since
                busy[rank] = false
                computeSeconds[rank] += live.now - began[rank]
                try computeDone(rank)
                touched.append(rank)
            }
            // Another rank can only be freed by a transfer, which arrives in a later round.
            for rank in Set(touched).sorted() { try advance(rank) }
        }
        guard finished.allSatisfy({ $0 }) else {
            throw Network.Problem(description: "the replay of \(algorithm.rawValue) stalled: a rank waits for a transfer no rank posts")
        }
        let list: [ScheduledTransfer] = keep ? executorTransfers().map { (transfer: ScheduledTransfer) -> ScheduledTransfer in
            var scaled = transfer
            scaled.bytes = transfer.bytes / 4 * p.elementBytes
            return scaled
        } : []
        return Result(total: stepEnds.map { $0.last! }.max() ?? 0, stepEnds: stepEnds, stepStarts: stepStarts, stepCompute: stepCompute,
                      transferList: list, computeSeconds: computeSeconds, bytes: bytes, transfers: transferCount, stepsReplayed: stepsReplayed)
    }
}
