import Attention

/// How a sequence of N tokens is cut among P ranks.
///
/// The sequence is cut into chunks of near-equal size (sizes differ by at most one token, so N
/// need not divide evenly); each rank holds one chunk (contiguous) or two (zigzag: chunks r and
/// 2P − 1 − r, so every rank holds one early and one late chunk).
public struct ShardLayout: Sendable, Equatable {
    /// How chunks are assigned to ranks.
    public enum Kind: String, Sendable, CaseIterable {
        case contiguous, zigzag
    }

    public let tokens: Int
    public let ranks: Int
    public let kind: Kind

    /// - Precondition: 1 ≤ ranks and every chunk holds at least one token.
    public init(tokens: Int, ranks: Int, kind: Kind) {
        precondition(ranks >= 1 && tokens >= (kind == .zigzag ? 2 * ranks : ranks),
                     "\(tokens) tokens cannot be cut into \(kind == .zigzag ? 2 * ranks : ranks) non-empty chunks")
        self.tokens = tokens
        self.ranks = ranks
        self.kind = kind
    }

    /// The number of chunks: P, or 2P for zigzag.
    public var chunkCount: Int { kind == .zigzag ? 2 * ranks : ranks }

    /// The global token range of chunk `index`: the first `tokens % chunkCount` chunks get one
    /// token more.
    public func range(ofChunk index: Int) -> Range<Int> {
        let base = tokens / chunkCount, extra = tokens % chunkCount
        let start = index * base + min(index, extra)
        return start..<(start + base + (index < extra ? 1 : 0))
    }

    /// The chunks rank `rank` holds, in the order its shard stores them.
    public func chunks(ofRank rank: Int) -> [Int] {
        kind == .zigzag ? [rank, 2 * ranks - 1 - rank] : [rank]
    }

    /// The number of tokens rank `rank` holds.
    public func tokenCount(ofRank rank: Int) -> Int {
        chunks(ofRank: rank).reduce(0) { $0 + range(ofChunk: $1).count }
    }
}

extension ShardLayout {
    /// The mask of one block of a schedule: a causal block is offset by where its query and key
    /// chunks start in the whole sequence.
    func mask(of block: BlockPair, queryChunk: Int, keyChunk: Int) -> AttentionMask {
        guard block.mask == .causal else { return .none }
        return .causal(queryOffset: range(ofChunk: queryChunk).lowerBound, keyOffset: range(ofChunk: keyChunk).lowerBound)
    }
}
