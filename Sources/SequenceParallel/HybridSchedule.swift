/// USP for one rank (Fang and Zhao, "USP: A Unified Sequence Parallelism Approach for Long
/// Context Generative AI", 2024): Ulysses inside groups of u consecutive ranks, a ring across the
/// r = P/u groups.
///
/// Rank p is member i = p mod u of group g = p / u. Group g owns ring rank g's chunks of the ring
/// layout (zigzag when causal, so the ring's causal work is balanced); each chunk is cut into u
/// near-equal contiguous sub-ranges and member i holds sub-range i of each: its input and output
/// shard. An all-to-all inside the group gives member i every group chunk in full for its slice
/// of the heads (heads cut into u contiguous groups, as Ulysses cuts them into P); the ring then
/// runs among the ranks with the same member index, H/u heads wide; a second all-to-all returns
/// out and lse to the sub-ranges. u = P is Ulysses, u = 1 the ring (zigzag when causal).
public struct HybridSchedule: Sendable, Equatable {
    public let ranks: Int
    public let ulyssesDegree: Int
    public let rank: Int
    public let heads: Int
    public let keyHeads: Int
    /// The ring across groups: ring rank g is group g.
    public let ring: RingSchedule

    /// Why `ulyssesDegree` does not suit this gang and head layout (the message names the fix), or nil.
    public static func degreeProblem(_ u: Int, ranks: Int, heads: Int, keyHeads: Int) -> String? {
        let candidates: [Int] = Array(1...max(1, ranks)).filter { ranks % $0 == 0 }
        let divisors = candidates.map(String.init).joined(separator: ", ")
        if u < 1 || ranks % u != 0 {
            return "usp needs ulysses_degree U ≥ 1 dividing the gang size: got \(u) on \(ranks) ranks; give ulysses_degree = one of \(divisors)"
        }
        if heads % u != 0 || keyHeads % u != 0 {
            let fitting = candidates.filter { heads % $0 == 0 && keyHeads % $0 == 0 }.map(String.init).joined(separator: ", ")
            return "usp splits heads over the \(u) ranks of a group: ulysses_degree (\(u)) must divide heads (\(heads)) and kv_heads (\(keyHeads)); give ulysses_degree = one of \(fitting)"
        }
        return nil
    }

    /// - Precondition: `degreeProblem` finds nothing, and tokens ≥ P (≥ 2P when causal), so
    ///   every sub-range holds a token.
    public init(tokens: Int, ranks: Int, ulyssesDegree u: Int, rank: Int, heads: Int, keyHeads: Int, isCausal: Bool) {
        precondition(Self.degreeProblem(u, ranks: ranks, heads: heads, keyHeads: keyHeads) == nil, "bad ulysses degree \(u)")
        precondition(rank >= 0 && rank < ranks && tokens >= (isCausal ? 2 : 1) * ranks, "rank \(rank) of \(ranks), \(tokens) tokens")
        self.ranks = ranks
        ulyssesDegree = u
        self.rank = rank
        self.heads = heads
        self.keyHeads = keyHeads
        let layout = ShardLayout(tokens: tokens, ranks: ranks / u, kind: isCausal ? .zigzag : .contiguous)
        ring = RingSchedule(layout: layout, rank: rank / u, isCausal: isCausal)
    }

    /// The ring's layout: N tokens over r groups.
    public var ringLayout: ShardLayout { ring.layout }
    /// r, the number of groups.
    public var groups: Int { ranks / ulyssesDegree }
    /// This rank's group (its ring position).
    public var group: Int { rank / ulyssesDegree }
    /// This rank's index inside its group (which heads it attends for the group).
    public var member: Int { rank % ulyssesDegree }

    /// The gang ranks of this rank's group, by member index: the all-to-all's members.
    public var groupRanks: [Int] { (0..<ulyssesDegree).map { group * ulyssesDegree + $0 } }
    /// The gang rank at each position of this rank's ring: member `member` of every group.
    public var ringRanks: [Int] { (0..<groups).map { $0 * ulyssesDegree + member } }

    /// Sub-range `member` of `range` cut into u near-equal contiguous parts (the first
    /// `count mod u` get one token more).
    public func part(_ range: Range<Int>, member: Int) -> Range<Int> {
        let base = range.count / ulyssesDegree, extra = range.count % ulyssesDegree
        let start = range.lowerBound + member * base + min(member, extra)
        return start..<(start + base + (member < extra ? 1 : 0))
    }

    /// The global token ranges of the group's chunks, in the order its ranks store them.
    public var groupChunks: [Range<Int>] { ringLayout.chunks(ofRank: group).map { ringLayout.range(ofChunk: $0) } }

    /// The token ranges gang rank `other` holds as input and output: its sub-range of each of
    /// its group's chunks.
    public func ranges(ofRank other: Int) -> [Range<Int>] {
        ringLayout.chunks(ofRank: other / ulyssesDegree).map { part(ringLayout.range(ofChunk: $0), member: other % ulyssesDegree) }
    }

    /// The tokens gang rank `other` holds.
    public func tokenCount(ofRank other: Int) -> Int { ranges(ofRank: other).reduce(0) { $0 + $1.count } }

    /// The query heads member `index` of a group attends.
    public func queryHeads(ofMember index: Int) -> Range<Int> {
        let width = heads / ulyssesDegree
        return (index * width)..<((index + 1) * width)
    }

    /// The key/value heads member `index` of a group holds (grouped-query pairs stay together).
    public func keyHeads(ofMember index: Int) -> Range<Int> {
        let width = keyHeads / ulyssesDegree
        return (index * width)..<((index + 1) * width)
    }

    /// Useful (query, key) pairs this rank scores, counted over all heads as the ring counts them:
    /// its group's ring work on 1/u of the heads.
    public var visiblePairs: Int { ring.visiblePairs / ulyssesDegree }

    /// Float32 bytes this rank sends in the forward pass. With c = N/P tokens per rank:
    /// all-to-all in (u − 1)·c·(H + 2·Hkv)·d·4/u, the ring's K/V (r − 1)·2·c·Hkv·d·4 (chunks of
    /// u·c tokens, Hkv/u heads wide), all-to-all back (u − 1)·c·H·(d + 1)·4/u.
    public func bytesSent(headDimension d: Int) -> Int {
        let u = ulyssesDegree, mine = tokenCount(ofRank: rank)
        let exchanges = groupRanks.filter { $0 != rank }.reduce(0) { total, peer in
            total + mine * (heads / u + 2 * keyHeads / u) * d * 4 + tokenCount(ofRank: peer) * (heads / u) * (d + 1) * 4
        }
        return exchanges + ring.bytesSent(keyHeads: keyHeads / u, headDimension: d)
    }

    /// Float32 bytes this rank sends in the backward pass. With c = N/P: ∂L/∂out in
    /// (u − 1)·c·H·d·4/u; the ring's K/V (r − 1)·2·c·Hkv·d·4 and dK/dV accumulators r·2·c·Hkv·d·4
    /// (none when r = 1); dq, dk, dv back (u − 1)·c·(H + 2·Hkv)·d·4/u.
    public func backwardBytesSent(headDimension d: Int) -> Int {
        let u = ulyssesDegree, mine = tokenCount(ofRank: rank)
        let exchanges = groupRanks.filter { $0 != rank }.reduce(0) { total, peer in
            total + mine * (heads / u) * d * 4 + tokenCount(ofRank: peer) * (heads / u + 2 * keyHeads / u) * d * 4
        }
        return exchanges + ring.backwardBytesSent(keyHeads: keyHeads / u, headDimension: d)
    }
}
