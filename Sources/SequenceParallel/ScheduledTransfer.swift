/// One tensor exchange of a forward schedule: who sends what to whom at which step, and at which
/// of the receiver's steps it is taken. Traces draw these as arrows; the bytes are the schedule's
/// formula (float32), so a sum over a rank's transfers is its `expected_bytes_sent`.
public struct ScheduledTransfer: Sendable, Equatable {
    /// What travels: "k/v", "q", "result" (TokenRing's partial out and lse), "q/k/v" and
    /// "out/lse" (Ulysses's two all-to-alls).
    public var what: String
    public var from: Int
    public var to: Int
    /// The sender's step that posts it.
    public var step: Int
    /// The receiver's step that takes it (TokenRing's results: the tail step P).
    public var receiveStep: Int
    public var bytes: Int
    /// Posted at the end of the step's compute rather than in its send span (TokenRing's results).
    public var sentAfterCompute: Bool
}

extension SequenceParallelKinds.Algorithm {
    /// Every transfer of this algorithm's forward pass on `ranks` ranks, all ranks together.
    /// - Precondition: the shape suits the algorithm (`ShardedProblem` checks it).
    public func forwardTransfers(tokens: Int, ranks: Int, isCausal: Bool, heads: Int, keyHeads: Int,
                                 headDimension d: Int) -> [ScheduledTransfer] {
        var transfers: [ScheduledTransfer] = []
        switch self {
        case .ring, .zigzagRing:
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: self == .zigzagRing ? .zigzag : .contiguous)
            for rank in 0..<ranks {
                for step in RingSchedule(layout: layout, rank: rank, isCausal: isCausal).steps {
                    guard let next = step.sendTo else { continue }
                    transfers.append(ScheduledTransfer(what: "k/v", from: rank, to: next, step: step.step, receiveStep: step.step,
                                                       bytes: 2 * layout.tokenCount(ofRank: step.keyOwner) * keyHeads * d * 4,
                                                       sentAfterCompute: false))
                }
            }
        case .tokenring:
            for rank in 0..<ranks {
                let schedule = TokenRingSchedule(tokens: tokens, ranks: ranks, rank: rank, isCausal: isCausal)
                let layout = schedule.layout
                for step in schedule.steps {
                    let owner = layout.chunks(ofRank: step.queryOwner)
                    let tokens = { (chunks: [Int]) in chunks.reduce(0) { $0 + layout.range(ofChunk: owner[$1]).count } }
                    if let next = step.sendTo, !step.forwardedChunks.isEmpty {
                        transfers.append(ScheduledTransfer(what: "q", from: rank, to: next, step: step.step, receiveStep: step.step,
                                                           bytes: tokens(step.forwardedChunks) * heads * d * 4, sentAfterCompute: false))
                    }
                    let computed = Set(step.blocks.map(\.queryChunk)).sorted()
                    if step.queryOwner != rank && !computed.isEmpty {
                        transfers.append(ScheduledTransfer(what: "result", from: rank, to: step.queryOwner, step: step.step,
                                                           receiveStep: ranks, bytes: tokens(computed) * heads * (d + 1) * 4,
                                                           sentAfterCompute: true))
                    }
                }
            }
        case .ulysses:
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: .contiguous)
            for rank in 0..<ranks {
                let schedule = UlyssesSchedule(layout: layout, rank: rank, heads: heads, keyHeads: keyHeads, isCausal: isCausal)
                for peer in schedule.peers {
                    let inbound = layout.tokenCount(ofRank: rank) * (heads / ranks + 2 * (keyHeads / ranks)) * d * 4
                    let outbound = layout.tokenCount(ofRank: peer) * (heads / ranks) * (d + 1) * 4
                    transfers.append(ScheduledTransfer(what: "q/k/v", from: rank, to: peer, step: 0, receiveStep: 0, bytes: inbound,
                                                       sentAfterCompute: false))
                    transfers.append(ScheduledTransfer(what: "out/lse", from: rank, to: peer, step: 2, receiveStep: 2, bytes: outbound,
                                                       sentAfterCompute: false))
                }
            }
        }
        return transfers
    }
}
