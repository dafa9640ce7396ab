/// One tensor exchange of a forward schedule: who sends what to whom at which step, and at which
/// of the receiver's steps it is taken. Traces draw these as arrows; the bytes are the schedule's
/// formula (float32), so a sum over a rank's transfers is its `expected_bytes_sent`.
public struct ScheduledTransfer: Sendable, Equatable {
    /// What travels: "k/v", "q", "result" (TokenRing's partial out and lse), "q/k/v" and
    /// "out/lse" (the all-to-alls of Ulysses and usp).
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
    /// usp: step 0 the group all-to-all, steps 1 … r the ring's K/V (rank g·u + i to
    /// ((g + 1) mod r)·u + i), step r + 1 the all-to-all back; `ulyssesDegree` is its u.
    /// - Precondition: the shape suits the algorithm (`ShardedProblem` checks it).
    public func forwardTransfers(tokens: Int, ranks: Int, isCausal: Bool, heads: Int, keyHeads: Int,
                                 headDimension d: Int, ulyssesDegree: Int = 1) -> [ScheduledTransfer] {
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
        case .usp:
            for rank in 0..<ranks {
                transfers += HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: ulyssesDegree, rank: rank, heads: heads,
                                            keyHeads: keyHeads, isCausal: isCausal).forwardTransfers(headDimension: d)
            }
        }
        return transfers
    }

    /// Every transfer of this algorithm's backward pass on `ranks` ranks, all ranks together, as
    /// `RingExecutor.backward` and `UlyssesExecutor.backward` make them:
    /// - ring and zigzag: K/V round the ring as in the forward pass (posted at each step's start),
    ///   and after each step's compute the dK/dV accumulators of the held block to the next rank,
    ///   which takes them before its next step (from the last step, one hop home);
    /// - TokenRing: K/V round the ring on its layout, and after each step's compute the dK/dV
    ///   partial of a foreign block straight to its owner, taken at the end;
    /// - Ulysses: ∂L/∂out through the first all-to-all, then dq | dk | dv through the second;
    /// - usp: ∂L/∂out through the group all-to-all at step 0, the ring's K/V and dK/dV
    ///   accumulators among equal member indices at steps 1 … r, dq | dk | dv back at r + 1.
    /// The bytes are the executor's formulas (`backwardBytesSent`, `directBackwardBytesSent`).
    /// - Precondition: the shape suits the algorithm.
    public func backwardTransfers(tokens: Int, ranks: Int, isCausal: Bool, heads: Int, keyHeads: Int,
                                  headDimension d: Int, ulyssesDegree: Int = 1) -> [ScheduledTransfer] {
        var transfers: [ScheduledTransfer] = []
        switch self {
        case .ring, .zigzagRing, .tokenring:
            let zigzag = self == .zigzagRing || (self == .tokenring && isCausal)
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: zigzag ? .zigzag : .contiguous)
            guard ranks > 1 else { return [] }
            for rank in 0..<ranks {
                for step in RingSchedule(layout: layout, rank: rank, isCausal: isCausal).steps {
                    let block = 2 * layout.tokenCount(ofRank: step.keyOwner) * keyHeads * d * 4
                    if let next = step.sendTo {
                        transfers.append(ScheduledTransfer(what: "k/v", from: rank, to: next, step: step.step, receiveStep: step.step,
                                                           bytes: block, sentAfterCompute: false))
                    }
                    if self == .tokenring {
                        if step.keyOwner != rank {
                            transfers.append(ScheduledTransfer(what: "dk/dv", from: rank, to: step.keyOwner, step: step.step,
                                                               receiveStep: ranks, bytes: block, sentAfterCompute: true))
                        }
                    } else {
                        transfers.append(ScheduledTransfer(what: "dk/dv", from: rank, to: (rank + 1) % ranks, step: step.step,
                                                           receiveStep: step.step, bytes: block, sentAfterCompute: true))
                    }
                }
            }
        case .ulysses:
            let layout = ShardLayout(tokens: tokens, ranks: ranks, kind: .contiguous)
            for rank in 0..<ranks {
                let schedule = UlyssesSchedule(layout: layout, rank: rank, heads: heads, keyHeads: keyHeads, isCausal: isCausal)
                for peer in schedule.peers {
                    transfers.append(ScheduledTransfer(what: "dout", from: rank, to: peer, step: 0, receiveStep: 0,
                                                       bytes: layout.tokenCount(ofRank: rank) * (heads / ranks) * d * 4, sentAfterCompute: false))
                    transfers.append(ScheduledTransfer(what: "dq/dk/dv", from: rank, to: peer, step: 2, receiveStep: 2,
                                                       bytes: layout.tokenCount(ofRank: peer) * (heads / ranks + 2 * (keyHeads / ranks)) * d * 4,
                                                       sentAfterCompute: false))
                }
            }
        case .usp:
            for rank in 0..<ranks {
                transfers += HybridSchedule(tokens: tokens, ranks: ranks, ulyssesDegree: ulyssesDegree, rank: rank, heads: heads,
                                            keyHeads: keyHeads, isCausal: isCausal).backwardTransfers(headDimension: d)
            }
        }
        return transfers
    }
}
