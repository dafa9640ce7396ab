import Attention
import Cluster
import Foundation
import TensorCore

/// What a rank holds after the first all-to-all and its attention: its heads for every token.
public struct UlyssesHeadShard: Sendable {
    public var query: Tensor, key: Tensor, value: Tensor
    public var result: PartialAttention
}

/// Runs a Ulysses schedule on one rank of a gang (a full mesh).
public enum UlyssesExecutor {
    /// - Parameters: query, key, value: this rank's contiguous shard, `[c, H, d]` and `[c, Hkv, d]`.
    /// - Returns: the rank's output chunk; the timeline has three steps: all-to-all in,
    ///   attention, all-to-all back.
    public static func run(_ schedule: UlyssesSchedule, query: Tensor, key: Tensor, value: Tensor,
                           gang: GangMembership?, threads: Int, forceFrames: Bool = false) throws -> (ShardedRun, UlyssesHeadShard) {
        if let gang, !forceFrames {
            // Made before the clock starts, so the first all-to-all is not charged for the segment.
            let layout = schedule.layout
            let largest = (0..<layout.ranks).map { layout.tokenCount(ofRank: $0) }.max() ?? 0
            try gang.reserveSharedMemory(bytesPerTensor: largest * max(schedule.heads, schedule.keyHeads) / layout.ranks * query.shape[2] * 4)
        }
        let exchange = AllToAllExchange(rank: schedule.rank, members: Array(0..<schedule.layout.ranks), gang: gang, forceFrames: forceFrames)
        var timings: [StepTiming] = []
        // All-to-all #1: my tokens of each peer's heads out; each peer's tokens of my heads in.
        let parts = try exchange.allToAll(tags: ["uq", "uk", "uv"], step: 0, timings: &timings) { peer in
            [query.heads(schedule.queryHeads(of: peer)), key.heads(schedule.keyHeads(of: peer)),
             value.heads(schedule.keyHeads(of: peer))]
        }
        // Full attention over the whole sequence for my heads.
        let shard = (q: Tensor.concatenatingRows(parts[0]), k: Tensor.concatenatingRows(parts[1]),
                     v: Tensor.concatenatingRows(parts[2]))
        let result = try exchange.compute(step: 1, timings: &timings) {
            try BlockwiseAttention(mask: schedule.isCausal ? .causal() : .none, threads: threads)
                .forward(query: shard.q, key: shard.k, value: shard.v)
        }
        // All-to-all #2: each peer's tokens of my heads back to it; my tokens of its heads in.
        let back = try exchange.allToAll(tags: ["uo", "ul"], step: 2, timings: &timings) { peer in
            let range = schedule.layout.range(ofChunk: peer)
            return [result.output.rows(range), result.logSumExp.rows(range)]
        }
        let output = try PartialAttention(output: Tensor.concatenatingHeads(back[0]), logSumExp: Tensor.concatenatingHeads(back[1]))
        return (ShardedRun(outputs: [output], timings: timings, wallSeconds: exchange.elapsed),
                UlyssesHeadShard(query: shard.q, key: shard.k, value: shard.v, result: result))
    }

    /// The backward pass: ∂L/∂out goes through the first all-to-all (the rank's tokens of each
    /// peer's heads), each rank runs the backward pass of its heads over the whole sequence from
    /// the state the forward pass left, and dq, dk, dv come back through the inverse all-to-all.
    /// Bytes per rank: (P − 1)·c·(2H + 2Hkv)·d·4/P.
    public static func backward(_ schedule: UlyssesSchedule, shard: UlyssesHeadShard, outputGradient: Tensor,
                                gang: GangMembership?, threads: Int,
                                forceFrames: Bool = false) throws -> (ShardedGradients, [StepTiming], Double) {
        let exchange = AllToAllExchange(rank: schedule.rank, members: Array(0..<schedule.layout.ranks), gang: gang, forceFrames: forceFrames)
        var timings: [StepTiming] = []
        let parts = try exchange.allToAll(tags: ["ud"], step: 0, timings: &timings) { peer in
            [outputGradient.heads(schedule.queryHeads(of: peer))]
        }
        let gradients = try exchange.compute(step: 1, timings: &timings) {
            try BlockwiseAttention(mask: schedule.isCausal ? .causal() : .none, threads: threads).backward(
                query: shard.query, key: shard.key, value: shard.value, result: shard.result,
                outputGradient: Tensor.concatenatingRows(parts[0]))
        }
        let back = try exchange.allToAll(tags: ["udq", "udk", "udv"], step: 2, timings: &timings) { peer in
            let range = schedule.layout.range(ofChunk: peer)
            return [gradients.query.rows(range), gradients.key.rows(range), gradients.value.rows(range)]
        }
        let result = ShardedGradients(query: [Tensor.concatenatingHeads(back[0])], key: [Tensor.concatenatingHeads(back[1])],
                                      value: [Tensor.concatenatingHeads(back[2])])
        return (result, timings, exchange.elapsed)
    }
}
