/// TokenRing for one rank: K and V stay put, queries travel round the ring, and each partial
/// result computed for a foreign query goes straight back to its owner over the full mesh.
///
/// Non-causal: contiguous shards, queries move r → r + 1 (rank r holds the queries of r − s at
/// step s). Causal: the zigzag layout, queries move r → r − 1 (rank r holds the queries of
/// r + s), and a query chunk travels on only while some later holder has work for it, so after
/// the wrap only the late half moves (0.75 of the non-causal query and result bytes).
public struct TokenRingSchedule: Sendable, Equatable {
    /// What the rank does at one step.
    public struct Step: Sendable, Equatable {
        public var step: Int
        /// Whose queries the rank holds.
        public var queryOwner: Int
        /// The owner's query chunks (indices into its chunks) held during this step.
        public var heldChunks: [Int]
        /// Those to forward to `sendTo` for the next step (none at the last step).
        public var forwardedChunks: [Int]
        public var sendTo: Int?
        public var receiveFrom: Int?
        /// Blocks: a held query chunk (index into the owner's chunks) against a local key chunk.
        public var blocks: [BlockPair]
    }

    public let layout: ShardLayout
    public let rank: Int
    public let isCausal: Bool
    public let steps: [Step]

    public init(tokens: Int, ranks: Int, rank: Int, isCausal: Bool) {
        let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: isCausal ? .zigzag : .contiguous)
        self.layout = layout
        self.rank = rank
        self.isCausal = isCausal
        steps = (0..<ranks).map { TokenRingSchedule.step($0, rank: rank, layout: layout, isCausal: isCausal) }
    }

    /// The rank holding `owner`'s queries at `step`.
    public static func holder(of owner: Int, at step: Int, ranks: Int, isCausal: Bool) -> Int {
        isCausal ? (owner - step + ranks) % ranks : (owner + step) % ranks
    }

    /// The blocks of `owner`'s query chunks on `holder`'s local key chunks.
    public static func blocks(owner: Int, holder: Int, layout: ShardLayout, isCausal: Bool) -> [BlockPair] {
        var blocks: [BlockPair] = []
        for (qi, q) in layout.chunks(ofRank: owner).enumerated() {
            for (ki, k) in layout.chunks(ofRank: holder).enumerated() {
                if !isCausal || k < q { blocks.append(BlockPair(queryChunk: qi, keyChunk: ki, mask: .full)) }
                else if k == q { blocks.append(BlockPair(queryChunk: qi, keyChunk: ki, mask: .causal)) }
            }
        }
        return blocks
    }

    /// The owner's chunks that some holder from `step` on has work for. Non-causal: its one
    /// chunk, while steps remain. Causal (zigzag): the late chunk 2P − 1 − owner meets a lower key
    /// chunk at every holder; the early chunk `owner` only at holders h ≤ owner, which are the
    /// steps t ≤ owner (h = owner − t before the wrap). O(1): the simulator asks at every step.
    public static func neededChunks(owner: Int, from step: Int, layout: ShardLayout, isCausal: Bool) -> [Int] {
        guard step < layout.ranks else { return [] }
        guard isCausal else { return [0] }
        return step <= owner ? [0, 1] : [1]
    }

    /// `neededChunks` by scanning every later holder's blocks: the definition, kept for tests.
    static func neededChunksByScan(owner: Int, from step: Int, layout: ShardLayout, isCausal: Bool) -> [Int] {
        var needed = Set<Int>()
        for later in step..<layout.ranks {
            let holder = holder(of: owner, at: later, ranks: layout.ranks, isCausal: isCausal)
            for block in blocks(owner: owner, holder: holder, layout: layout, isCausal: isCausal) { needed.insert(block.queryChunk) }
        }
        return needed.sorted()
    }

    private static func step(_ s: Int, rank: Int, layout: ShardLayout, isCausal: Bool) -> Step {
        let p = layout.ranks
        let owner = isCausal ? (rank + s) % p : (rank - s + p) % p
        let last = s == p - 1
        return Step(step: s, queryOwner: owner,
                    heldChunks: neededChunks(owner: owner, from: s, layout: layout, isCausal: isCausal),
                    forwardedChunks: last ? [] : neededChunks(owner: owner, from: s + 1, layout: layout, isCausal: isCausal),
                    sendTo: last ? nil : (isCausal ? (rank - 1 + p) % p : (rank + 1) % p),
                    receiveFrom: last ? nil : (isCausal ? (rank + 1) % p : (rank - 1 + p) % p),
                    blocks: blocks(owner: owner, holder: rank, layout: layout, isCausal: isCausal))
    }

    /// The query chunks (of this rank's own) each other rank computes and sends back, by step.
    public var incomingResults: [(from: Int, step: Int, chunk: Int)] {
        var results: [(Int, Int, Int)] = []
        for s in 1..<max(1, layout.ranks) {
            let holder = TokenRingSchedule.holder(of: rank, at: s, ranks: layout.ranks, isCausal: isCausal)
            let chunks = Set(TokenRingSchedule.blocks(owner: rank, holder: holder, layout: layout, isCausal: isCausal).map(\.queryChunk))
            for chunk in chunks.sorted() { results.append((holder, s, chunk)) }
        }
        return results
    }

    /// Float32 bytes this rank sends: forwarded query chunks, (P − 1)·c·H·d·4 non-causal, and
    /// partial results (output and log-sum-exp) for foreign queries, (P − 1)·c·H·(d + 1)·4.
    public func bytesSent(heads: Int, headDimension d: Int) -> Int {
        var bytes = 0
        for step in steps {
            let owner = layout.chunks(ofRank: step.queryOwner)
            for chunk in step.forwardedChunks { bytes += layout.range(ofChunk: owner[chunk]).count * heads * d * 4 }
            if step.queryOwner != rank {
                for chunk in Set(step.blocks.map(\.queryChunk)) { bytes += layout.range(ofChunk: owner[chunk]).count * heads * (d + 1) * 4 }
            }
        }
        return bytes
    }

    /// (query, key) pairs this rank scores.
    public var visiblePairs: Int {
        steps.reduce(0) { total, step in
            let owner = layout.chunks(ofRank: step.queryOwner), mine = layout.chunks(ofRank: rank)
            return total + step.blocks.reduce(0) { sum, block in
                let q = layout.range(ofChunk: owner[block.queryChunk]).count
                let k = layout.range(ofChunk: mine[block.keyChunk]).count
                return sum + (block.mask == .full ? q * k : q * (q + 1) / 2)
            }
        }
    }
}
