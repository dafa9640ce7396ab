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
        let layout = schedule.layout, rank = schedule.rank
        let clock = ContinuousClock(), begin = clock.now
        var timings: [StepTiming] = []
        // All-to-all #1: my tokens of each peer's heads out; each peer's tokens of my heads in.
        var start = clock.now
        for peer in schedule.peers {
            guard let gang else { break }
            try gang.send(query.heads(schedule.queryHeads(of: peer)), to: peer, tag: "uq", forceFrames: forceFrames)
            try gang.send(key.heads(schedule.keyHeads(of: peer)), to: peer, tag: "uk", forceFrames: forceFrames)
            try gang.send(value.heads(schedule.keyHeads(of: peer)), to: peer, tag: "uv", forceFrames: forceFrames)
        }
        var sent = clock.now
        var parts: [(q: Tensor, k: Tensor, v: Tensor)] = []
        for owner in 0..<layout.ranks {
            if owner == rank {
                parts.append((query.heads(schedule.queryHeads(of: rank)), key.heads(schedule.keyHeads(of: rank)),
                              value.heads(schedule.keyHeads(of: rank))))
            } else if let gang {
                parts.append((try gang.receiveTensor("uq", from: owner), try gang.receiveTensor("uk", from: owner),
                              try gang.receiveTensor("uv", from: owner)))
            }
        }
        timings.append(StepTiming(step: 0, start: (start - begin).inSeconds, sendSeconds: (sent - start).inSeconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).inSeconds, blocks: 0))
        // Full attention over the whole sequence for my heads.
        start = clock.now
        let mask: AttentionMask = schedule.isCausal ? .causal() : .none
        let shard = (q: Tensor.concatenatingRows(parts.map(\.q)), k: Tensor.concatenatingRows(parts.map(\.k)),
                     v: Tensor.concatenatingRows(parts.map(\.v)))
        let result = try BlockwiseAttention(mask: mask, threads: threads).forward(query: shard.q, key: shard.k, value: shard.v)
        timings.append(StepTiming(step: 1, start: (start - begin).inSeconds, sendSeconds: 0,
                                  computeSeconds: (clock.now - start).inSeconds, waitSeconds: 0, blocks: 1))
        // All-to-all #2: each peer's tokens of my heads back to it; my tokens of its heads in.
        start = clock.now
        for peer in schedule.peers {
            guard let gang else { break }
            let range = layout.range(ofChunk: peer)
            try gang.send(result.output.rows(range), to: peer, tag: "uo", forceFrames: forceFrames)
            try gang.send(result.logSumExp.rows(range), to: peer, tag: "ul", forceFrames: forceFrames)
        }
        sent = clock.now
        var outputs: [Tensor] = [], sums: [Tensor] = []
        for owner in 0..<layout.ranks {
            if owner == rank {
                let range = layout.range(ofChunk: rank)
                outputs.append(result.output.rows(range))
                sums.append(result.logSumExp.rows(range))
            } else if let gang {
                outputs.append(try gang.receiveTensor("uo", from: owner))
                sums.append(try gang.receiveTensor("ul", from: owner))
            }
        }
        timings.append(StepTiming(step: 2, start: (start - begin).inSeconds, sendSeconds: (sent - start).inSeconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).inSeconds, blocks: 0))
        let output = try PartialAttention(output: Tensor.concatenatingHeads(outputs), logSumExp: Tensor.concatenatingHeads(sums))
        return (ShardedRun(outputs: [output], timings: timings, wallSeconds: (clock.now - begin).inSeconds),
                UlyssesHeadShard(query: shard.q, key: shard.k, value: shard.v, result: result))
    }

    /// The backward pass: ∂L/∂out goes through the first all-to-all (the rank's tokens of each
    /// peer's heads), each rank runs the backward pass of its heads over the whole sequence from
    /// the state the forward pass left, and dq, dk, dv come back through the inverse all-to-all.
    /// Bytes per rank: (P − 1)·c·(2H + 2Hkv)·d·4/P.
    public static func backward(_ schedule: UlyssesSchedule, shard: UlyssesHeadShard, outputGradient: Tensor,
                                gang: GangMembership?, threads: Int,
                                forceFrames: Bool = false) throws -> (ShardedGradients, [StepTiming], Double) {
        let layout = schedule.layout, rank = schedule.rank
        let clock = ContinuousClock(), begin = clock.now
        var timings: [StepTiming] = []
        var start = clock.now
        for peer in schedule.peers {
            guard let gang else { break }
            try gang.send(outputGradient.heads(schedule.queryHeads(of: peer)), to: peer, tag: "ud", forceFrames: forceFrames)
        }
        var sent = clock.now
        var parts: [Tensor] = []
        for owner in 0..<layout.ranks {
            if owner == rank {
                parts.append(outputGradient.heads(schedule.queryHeads(of: rank)))
            } else if let gang {
                parts.append(try gang.receiveTensor("ud", from: owner))
            }
        }
        timings.append(StepTiming(step: 0, start: 0, sendSeconds: (sent - start).inSeconds, computeSeconds: 0,
                                  waitSeconds: (clock.now - sent).inSeconds, blocks: 0))
        start = clock.now
        let mask: AttentionMask = schedule.isCausal ? .causal() : .none
        let gradients = try BlockwiseAttention(mask: mask, threads: threads).backward(
            query: shard.query, key: shard.key, value: shard.value, result: shard.result,
            outputGradient: Tensor.concatenatingRows(parts))
        timings.append(StepTiming(step: 1, start: (start - begin).inSeconds, sendSeconds: 0,
                                  computeSeconds: (clock.now - start).inSeconds, waitSeconds: 0, blocks: 1))
        start = clock.now
        for peer in schedule.peers {
            guard let gang else { break }
            let range = layout.range(ofChunk: peer)
            try gang.send(gradients.query.rows(range), to: peer, tag: "udq", forceFrames: forceFrames)
            try gang.send(gradients.key.rows(range), to: peer, tag: "udk", forceFrames: forceFrames)
            try gang.send(gradients.value.rows(range), to: peer, tag: "udv", forceFrames: forceFrames)
        }
        sent = clock.now
        var dq: [Tensor] = [], dk: [Tensor] = [], dv: [Tensor] = []
        for owner in 0..<layout.ranks {
            if owner == rank {
                let range = layout.range(ofChunk: rank)
                dq.append(gradients.query.rows(range)); dk.append(gradients.key.rows(range)); dv.append(gradients.value.rows(range))
            } else if let gang {
                dq.append(try gang.receiveTensor("udq", from: owner))
                dk.append(try gang.receiveTensor("udk", from: owner))
                dv.append(try gang.receiveTensor("udv", from: owner))
            }
        }
        timings.append(StepTiming(step: 2, start: (start - begin).inSeconds, sendSeconds: (sent - start).inSeconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).inSeconds, blocks: 0))
        let result = ShardedGradients(query: [Tensor.concatenatingHeads(dq)], key: [Tensor.concatenatingHeads(dk)],
                                      value: [Tensor.concatenatingHeads(dv)])
        return (result, timings, (clock.now - begin).inSeconds)
    }
}
