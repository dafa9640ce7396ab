/// How one query chunk meets one key/value chunk.
public enum BlockMask: String, Sendable, Equatable {
    /// Every key is visible (the key chunk lies wholly in the query chunk's past, or no mask).
    case full
    /// The diagonal chunk: the causal mask in global positions.
    case causal
}

/// One attention block a rank computes at a step: its query chunk against a held key/value chunk.
public struct BlockPair: Sendable, Equatable {
    /// Index into the rank's own chunks (0 or 1).
    public var queryChunk: Int
    /// Index into the held key/value chunks (0 or 1).
    public var keyChunk: Int
    public var mask: BlockMask
}

/// What one rank does at one step of a ring schedule.
public struct RingStep: Sendable, Equatable {
    public var step: Int
    /// The rank whose key/value chunks are held during this step.
    public var keyOwner: Int
    /// Where the held key/value chunks go next (nil at the last step).
    public var sendTo: Int?
    /// Where the next step's key/value chunks come from (nil at the last step).
    public var receiveFrom: Int?
    /// The blocks to compute and merge into the rank's output; empty when all are masked.
    public var blocks: [BlockPair]
}

/// A ring schedule for one rank: K and V travel r → r + 1, queries stay home.
///
/// `ring` uses contiguous shards; `zigzag_ring` the zigzag layout, which gives every rank the
/// same causal work. Blocks wholly in a query chunk's future are skipped; the diagonal gets the
/// causal mask; everything else is computed in full.
public struct RingSchedule: Sendable, Equatable {
    public let layout: ShardLayout
    public let rank: Int
    public let isCausal: Bool
    public let steps: [RingStep]

    public init(layout: ShardLayout, rank: Int, isCausal: Bool) {
        precondition(rank >= 0 && rank < layout.ranks, "rank \(rank) outside a gang of \(layout.ranks)")
        self.layout = layout
        self.rank = rank
        self.isCausal = isCausal
        steps = (0..<layout.ranks).map { RingSchedule.step($0, rank: rank, layout: layout, isCausal: isCausal) }
    }

    /// Step `step` of `rank`'s schedule, made alone: a replay of thousands of ranks makes each
    /// step when it starts rather than holding every rank's P steps.
    public static func step(_ step: Int, rank: Int, layout: ShardLayout, isCausal: Bool) -> RingStep {
        let p = layout.ranks
        let mine = layout.chunks(ofRank: rank)
        let owner = (rank - step + p) % p
        let held = layout.chunks(ofRank: owner)
        var blocks: [BlockPair] = []
        for (qi, q) in mine.enumerated() {
            for (ki, k) in held.enumerated() {
                if !isCausal || k < q { blocks.append(BlockPair(queryChunk: qi, keyChunk: ki, mask: .full)) }
                else if k == q { blocks.append(BlockPair(queryChunk: qi, keyChunk: ki, mask: .causal)) }
            }
        }
        let last = step == p - 1
        return RingStep(step: step, keyOwner: owner, sendTo: last ? nil : (rank + 1) % p,
                        receiveFrom: last ? nil : (rank - 1 + p) % p, blocks: blocks)
    }

    /// Float32 bytes this rank sends in the forward pass: the K and V chunks it forwards,
    /// (P − 1)·2·c·Hkv·d·4 when the chunks are equal.
    public func bytesSent(keyHeads: Int, headDimension: Int) -> Int {
        steps.filter { $0.sendTo != nil }.reduce(0) {
            $0 + 2 * layout.tokenCount(ofRank: $1.keyOwner) * keyHeads * headDimension * 4
        }
    }

    /// Useful (query, key) pairs this rank scores: its share of the work, for balance figures.
    public var visiblePairs: Int {
        var pairs = 0
        let mine = layout.chunks(ofRank: rank)
        for step in steps {
            let held = layout.chunks(ofRank: step.keyOwner)
            for block in step.blocks {
                let q = layout.range(ofChunk: mine[block.queryChunk]).count
                let k = layout.range(ofChunk: held[block.keyChunk]).count
                pairs += block.mask == .full ? q * k : q * (q + 1) / 2
            }
        }
        return pairs
    }
}
