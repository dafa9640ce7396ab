import SequenceParallel

/// Seconds of one block: its visible (query, key) pairs at the rate of its kind.
struct BlockCost {
    let perPair: Double, perDiagonalPair: Double
    func callAsFunction(_ queries: Int, _ keys: Int, _ mask: BlockMask) -> Double {
        mask == .full ? Double(queries * keys) * perPair : Double(queries * (queries + 1) / 2) * perDiagonalPair
    }
}

/// TokenRing's forward pass made step by step (memory ∝ P): queries move round the ring, each
/// partial result of a foreign query goes home after the compute and is merged at the owner's
/// tail step P. The same work, merges and transfers as the table (`StreamedStepsTests`).
struct TokenRingForwardSource: StepSource {
    let layout: ShardLayout, causal: Bool, heads: Int, headDimension: Int, elementBytes: Int
    let cost: BlockCost
    /// Merge seconds per token of output (out and lse), or nil: free.
    let mergePerToken: Double?

    var ranks: Int { layout.ranks }
    func stepCount(of rank: Int) -> Int { ranks + 1 }

    private func owner(_ rank: Int, _ step: Int) -> Int { causal ? (rank + step) % ranks : (rank - step + ranks) % ranks }
    private func tokens(_ owner: Int, _ chunks: [Int]) -> Int {
        let held = layout.chunks(ofRank: owner)
        return chunks.reduce(0) { $0 + layout.range(ofChunk: held[$1]).count }
    }
    /// The owner's query chunks `holder` computes, and so sends home.
    private func computed(owner: Int, holder: Int) -> [Int] {
        Set(TokenRingSchedule.blocks(owner: owner, holder: holder, layout: layout, isCausal: causal).map(\.queryChunk)).sorted()
    }
    /// The query chunks the rank holding `owner`'s queries at `step` forwards for step + 1.
    private func forwarded(owner: Int, step: Int) -> [Int] {
        step < ranks - 1 ? TokenRingSchedule.neededChunks(owner: owner, from: step + 1, layout: layout, isCausal: causal) : []
    }
    /// The rank a holder forwards queries to, and the one it takes them from.
    private func next(_ rank: Int) -> Int { causal ? (rank - 1 + ranks) % ranks : (rank + 1) % ranks }
    private func previous(_ rank: Int) -> Int { causal ? (rank + 1) % ranks : (rank - 1 + ranks) % ranks }

    func expected(_ rank: Int, _ step: Int) -> Int {
        if step == ranks {
            return (1..<max(1, ranks)).count { !computed(owner: rank, holder: TokenRingSchedule.holder(of: rank, at: $0, ranks: ranks, isCausal: causal)).isEmpty }
        }
        let sender = previous(rank)
        return forwarded(owner: owner(sender, step), step: step).isEmpty ? 0 : 1
    }

    func plan(_ rank: Int, _ step: Int) -> PlannedStep {
        let resultWidth = heads * (headDimension + 1) * elementBytes
        if step == ranks {
            // The tail: every partial that came home is merged into the owner's accumulators.
            var received = 0, work = 0.0
            for t in 1..<max(1, ranks) {
                let chunks = computed(owner: rank, holder: TokenRingSchedule.holder(of: rank, at: t, ranks: ranks, isCausal: causal))
                received += tokens(rank, chunks) * resultWidth
                if let mergePerToken { work += Double(tokens(rank, chunks)) * mergePerToken }
            }
            return PlannedStep(work: work, atStart: [], afterCompute: [], received: received)
        }
        let whose = owner(rank, step), held = layout.chunks(ofRank: whose), mine = layout.chunks(ofRank: rank)
        let blocks = TokenRingSchedule.blocks(owner: whose, holder: rank, layout: layout, isCausal: causal)
        var work = blocks.reduce(0.0) { sum, block in
            sum + cost(layout.range(ofChunk: held[block.queryChunk]).count, layout.range(ofChunk: mine[block.keyChunk]).count, block.mask)
        }
        let chunks = Set(blocks.map(\.queryChunk)).sorted()
        if let mergePerToken, whose == rank {
            // The owner meets every one of its chunks at step 0: each accumulator's first merge, a copy.
            work += Double(tokens(rank, chunks)) * mergePerToken * ScheduleReplay.copyBytesPerElement / ScheduleReplay.mergeBytesPerElement
        }
        var atStart: [PlannedTransfer] = [], afterCompute: [PlannedTransfer] = []
        let queryWidth = heads * headDimension * elementBytes
        let onward = forwarded(owner: whose, step: step)
        if !onward.isEmpty {
            atStart.append(PlannedTransfer(from: rank, to: next(rank), step: step, receiveStep: step, bytes: tokens(whose, onward) * queryWidth,
                                           afterCompute: false))
        }
        if whose != rank && !chunks.isEmpty {
            afterCompute.append(PlannedTransfer(from: rank, to: whose, step: step, receiveStep: ranks, bytes: tokens(whose, chunks) * resultWidth,
                                                afterCompute: true))
        }
        let sender = previous(rank), theirs = owner(sender, step)
        let received = tokens(theirs, forwarded(owner: theirs, step: step)) * queryWidth
        return PlannedStep(work: work, atStart: atStart, afterCompute: afterCompute, received: received)
    }
}

/// Ulysses made step by step: step 0 the all-to-all in, step 1 the whole sequence on H/P heads,
/// step 2 the all-to-all back; forward (q | k | v in, out | lse back) or backward (∂L/∂out in,
/// dq | dk | dv back). Per rank O(P) for its P − 1 sends, never P².
struct UlyssesSource: StepSource {
    let layout: ShardLayout, backward: Bool, heads: Int, keyHeads: Int, headDimension: Int, elementBytes: Int
    let seconds: Double

    var ranks: Int { layout.ranks }
    func stepCount(of rank: Int) -> Int { 3 }
    func expected(_ rank: Int, _ step: Int) -> Int { step == 1 ? 0 : ranks - 1 }

    /// Bytes per token of what goes in at step 0 and back at step 2.
    private var inWidth: Int { (backward ? heads / ranks : heads / ranks + 2 * (keyHeads / ranks)) * headDimension * elementBytes }
    private var backWidth: Int {
        backward ? (heads / ranks + 2 * (keyHeads / ranks)) * headDimension * elementBytes : heads / ranks * (headDimension + 1) * elementBytes
    }

    func plan(_ rank: Int, _ step: Int) -> PlannedStep {
        let peers = (1..<max(1, ranks)).map { (rank + $0) % ranks }, mine = layout.tokenCount(ofRank: rank)
        switch step {
        case 0:
            return PlannedStep(work: 0, atStart: peers.map { PlannedTransfer(from: rank, to: $0, step: 0, receiveStep: 0, bytes: mine * inWidth, afterCompute: false) },
                               afterCompute: [], received: (layout.tokens - mine) * inWidth)
        case 1:
            return PlannedStep(work: seconds, atStart: [], afterCompute: [])
        default:
            return PlannedStep(work: 0, atStart: peers.map {
                PlannedTransfer(from: rank, to: $0, step: 2, receiveStep: 2, bytes: layout.tokenCount(ofRank: $0) * backWidth, afterCompute: false)
            }, afterCompute: [], received: (ranks - 1) * mine * backWidth)
        }
    }
}

/// usp made step by step: the group all-to-all at step 0, the ring among equal member indices on
/// H/u heads at steps 1 … r (K/V at each step's start; backward also the dK/dV accumulators after
/// its compute), the all-to-all back at step r + 1. Each step is made from `RingSchedule.step` on
/// the ring's layout, so no rank's whole schedule is held.
struct HybridSource: StepSource {
    let tokens: Int, ranks: Int, degree: Int, causal: Bool, backward: Bool
    let heads: Int, keyHeads: Int, headDimension: Int, elementBytes: Int
    let cost: BlockCost
    /// Merge seconds per token of output (forward: out and lse; backward: dq) and of dK and dV,
    /// over all heads; nil: free.
    let merge: (query: Double, key: Double)?
    let ringLayout: ShardLayout

    init(tokens: Int, ranks: Int, degree: Int, causal: Bool, backward: Bool, heads: Int, keyHeads: Int, headDimension: Int,
         elementBytes: Int, cost: BlockCost, merge: (query: Double, key: Double)?) {
        self.tokens = tokens; self.ranks = ranks; self.degree = degree; self.causal = causal; self.backward = backward
        self.heads = heads; self.keyHeads = keyHeads; self.headDimension = headDimension; self.elementBytes = elementBytes
        self.cost = cost; self.merge = merge
        ringLayout = ShardLayout(tokens: tokens, ranks: ranks / degree, kind: causal ? .zigzag : .contiguous)
    }

    private var groups: Int { ranks / degree }
    func stepCount(of rank: Int) -> Int { groups + 2 }

    /// Tokens gang rank `rank` holds: member rank mod u's sub-range of each of its group's chunks.
    private func tokenCount(_ rank: Int) -> Int {
        let member = rank % degree
        return ringLayout.chunks(ofRank: rank / degree).reduce(0) { total, chunk in
            let count = ringLayout.range(ofChunk: chunk).count
            return total + count / degree + (member < count % degree ? 1 : 0)
        }
    }
    private func ringStep(_ rank: Int, _ index: Int) -> RingStep {
        RingSchedule.step(index, rank: rank / degree, layout: ringLayout, isCausal: causal)
    }
    /// Bytes of a K/V block (or its dK/dV) of ring rank `owner`'s chunks on Hkv/u heads.
    private func block(_ owner: Int) -> Int { 2 * ringLayout.tokenCount(ofRank: owner) * (keyHeads / degree) * headDimension * elementBytes }
    private var inWidth: Int { (backward ? heads / degree : heads / degree + 2 * keyHeads / degree) * headDimension * elementBytes }
    private var backWidth: Int {
        backward ? (heads / degree + 2 * keyHeads / degree) * headDimension * elementBytes : heads / degree * (headDimension + 1) * elementBytes
    }
    private func previous(_ rank: Int) -> Int { ((rank / degree - 1 + groups) % groups) * degree + rank % degree }

    func expected(_ rank: Int, _ step: Int) -> Int {
        if step == 0 || step == groups + 1 { return degree - 1 }
        let theirs = ringStep(previous(rank), step - 1)
        return (theirs.sendTo == nil ? 0 : 1) + (backward && groups > 1 ? 1 : 0)
    }

    func plan(_ rank: Int, _ step: Int) -> PlannedStep {
        let group = rank / degree, mine = tokenCount(rank)
        let peers = (0..<degree).map { group * degree + $0 }.filter { $0 != rank }
        if step == 0 {
            return PlannedStep(work: 0, atStart: peers.map { PlannedTransfer(from: rank, to: $0, step: 0, receiveStep: 0, bytes: mine * inWidth, afterCompute: false) },
                               afterCompute: [], received: peers.reduce(0) { $0 + tokenCount($1) * inWidth })
        }
        if step == groups + 1 {
            return PlannedStep(work: 0, atStart: peers.map {
                PlannedTransfer(from: rank, to: $0, step: step, receiveStep: step, bytes: tokenCount($0) * backWidth, afterCompute: false)
            }, afterCompute: [], received: peers.count * mine * backWidth)
        }
        let index = step - 1, ring = ringStep(rank, index)
        let own = ringLayout.chunks(ofRank: group), held = ringLayout.chunks(ofRank: ring.keyOwner)
        var work = ring.blocks.reduce(0.0) { sum, pair in
            sum + cost(ringLayout.range(ofChunk: own[pair.queryChunk]).count, ringLayout.range(ofChunk: held[pair.keyChunk]).count, pair.mask)
        } / Double(degree)
        if let merge {
            // Every accumulator is first written at ring step 0, where each chunk meets its own diagonal: a copy.
            let scale = index == 0 ? ScheduleReplay.copyBytesPerElement / ScheduleReplay.mergeBytesPerElement : 1
            for chunk in Set(ring.blocks.map(\.queryChunk)) {
                work += Double(ringLayout.range(ofChunk: own[chunk]).count) * merge.query / Double(degree) * scale
            }
            if backward {
                for chunk in Set(ring.blocks.map(\.keyChunk)) {
                    work += Double(ringLayout.range(ofChunk: held[chunk]).count) * merge.key / Double(degree) * scale
                }
            }
        }
        let next = ((group + 1) % groups) * degree + rank % degree
        var atStart: [PlannedTransfer] = [], afterCompute: [PlannedTransfer] = []
        if ring.sendTo != nil {
            atStart.append(PlannedTransfer(from: rank, to: next, step: step, receiveStep: step, bytes: block(ring.keyOwner), afterCompute: false))
        }
        if backward && groups > 1 {
            afterCompute.append(PlannedTransfer(from: rank, to: next, step: step, receiveStep: step, bytes: block(ring.keyOwner), afterCompute: true))
        }
        let theirs = ringStep(previous(rank), index)
        let received = (theirs.sendTo == nil ? 0 : block(theirs.keyOwner)) + (backward && groups > 1 ? block(theirs.keyOwner) : 0)
        return PlannedStep(work: work, atStart: atStart, afterCompute: afterCompute, received: received)
    }
}
