import Attention
import Cluster
import Foundation
import TensorCore

/// Runs a Ulysses schedule on one rank of a gang (a full mesh).
public enum UlyssesExecutor {
    /// - Parameters: query, key, value: this rank's contiguous shard, `[c, H, d]` and `[c, Hkv, d]`.
    /// - Returns: the rank's output chunk; the timeline has three steps: all-to-all in,
    ///   attention, all-to-all back.
    public static func run(_ schedule: UlyssesSchedule, query: Tensor, key: Tensor, value: Tensor,
                           gang: GangMembership?, threads: Int, forceFrames: Bool = false) throws -> ShardedRun {
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
        timings.append(StepTiming(step: 0, start: (start - begin).seconds, sendSeconds: (sent - start).seconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).seconds, blocks: 0))
        // Full attention over the whole sequence for my heads.
        start = clock.now
        let mask: AttentionMask = schedule.isCausal ? .causal() : .none
        let result = try BlockwiseAttention(mask: mask, threads: threads).forward(
            query: Tensor.concatenatingRows(parts.map(\.q)), key: Tensor.concatenatingRows(parts.map(\.k)),
            value: Tensor.concatenatingRows(parts.map(\.v)))
        timings.append(StepTiming(step: 1, start: (start - begin).seconds, sendSeconds: 0,
                                  computeSeconds: (clock.now - start).seconds, waitSeconds: 0, blocks: 1))
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
        timings.append(StepTiming(step: 2, start: (start - begin).seconds, sendSeconds: (sent - start).seconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).seconds, blocks: 0))
        let output = try PartialAttention(output: Tensor.concatenatingHeads(outputs), logSumExp: Tensor.concatenatingHeads(sums))
        return ShardedRun(outputs: [output], timings: timings, wallSeconds: (clock.now - begin).seconds)
    }
}
