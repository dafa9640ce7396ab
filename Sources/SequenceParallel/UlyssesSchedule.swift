/// Ulysses for one rank: an all-to-all turns sequence shards into head shards, each rank runs
/// full attention over the whole sequence for its heads, and a second all-to-all returns the
/// output to sequence shards.
///
/// Rank p owns query heads `queryHeads(of: p)` and the key/value heads they read (heads are cut
/// into P equal contiguous groups, which keeps grouped-query pairs together).
public struct UlyssesSchedule: Sendable, Equatable {
    public let layout: ShardLayout
    public let rank: Int
    public let heads: Int
    public let keyHeads: Int
    public let isCausal: Bool

    /// - Precondition: P divides H and Hkv, and the layout is contiguous.
    public init(layout: ShardLayout, rank: Int, heads: Int, keyHeads: Int, isCausal: Bool) {
        precondition(layout.kind == .contiguous && heads % layout.ranks == 0 && keyHeads % layout.ranks == 0,
                     "Ulysses needs a contiguous layout and P dividing H and Hkv")
        self.layout = layout
        self.rank = rank
        self.heads = heads
        self.keyHeads = keyHeads
        self.isCausal = isCausal
    }

    public func queryHeads(of rank: Int) -> Range<Int> {
        let group = heads / layout.ranks
        return (rank * group)..<((rank + 1) * group)
    }

    public func keyHeads(of rank: Int) -> Range<Int> {
        let group = keyHeads / layout.ranks
        return (rank * group)..<((rank + 1) * group)
    }

    /// The peers in the order this rank exchanges with them: r + 1, r + 2, … (mod P), so that
    /// no two ranks wait on the same peer first.
    public var peers: [Int] { (1..<layout.ranks).map { (rank + $0) % layout.ranks } }

    /// Float32 bytes this rank sends in the backward pass: its tokens of every other rank's
    /// ∂L/∂out heads, then every other rank's tokens of dq, dk and dv of its own heads,
    /// (P − 1)·c·(2H + 2Hkv)·d·4/P with c tokens per rank.
    public func backwardBytesSent(headDimension d: Int) -> Int {
        let mine = layout.tokenCount(ofRank: rank)
        return peers.reduce(0) { total, peer in
            let inbound = mine * (heads / layout.ranks) * d
            let outbound = layout.tokenCount(ofRank: peer) * (heads / layout.ranks + 2 * (keyHeads / layout.ranks)) * d
            return total + 4 * (inbound + outbound)
        }
    }

    /// Float32 bytes this rank sends: its tokens of every other rank's q, k and v heads, then
    /// every other rank's tokens of its own output and log-sum-exp heads. With c tokens per rank,
    /// (P − 1)·c·(H + 2·Hkv)·d·4/P + (P − 1)·c·H·(d + 1)·4/P.
    public func bytesSent(headDimension d: Int) -> Int {
        let mine = layout.tokenCount(ofRank: rank)
        return peers.reduce(0) { total, peer in
            let inbound = mine * (heads / layout.ranks + 2 * (keyHeads / layout.ranks)) * d
            let outbound = layout.tokenCount(ofRank: peer) * (heads / layout.ranks) * (d + 1)
            return total + 4 * (inbound + outbound)
        }
    }
}
