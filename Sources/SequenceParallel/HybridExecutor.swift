import Attention
import Cluster
import Foundation
import TensorCore

/// What a USP rank holds after the group all-to-all and the ring: its group's chunks for its
/// slice of the heads, and their results.
public struct HybridHeadShard: Sendable {
    /// One tensor per group chunk: `[chunk, H/u, d]` (query) and `[chunk, Hkv/u, d]` (key, value).
    public var query: [Tensor], key: [Tensor], value: [Tensor]
    public var results: [PartialAttention]
}

/// Runs a USP schedule on one rank of a gang (a full mesh: the group all-to-all and the ring
/// across groups). The timeline has r + 2 steps: the all-to-all in, the ring's r steps, the
/// all-to-all back.
public enum HybridExecutor {
    /// - Parameters: query, key, value: this rank's sub-ranges (`schedule.ranges(ofRank:)`),
    ///   `[n, H, d]` and `[n, Hkv, d]` each.
    /// - Returns: one output per sub-range, and the state the backward pass starts from.
    /// - Throws: `ClusterError` from the gang, `AttentionError` from a block.
    public static func run(_ schedule: HybridSchedule, query: [Tensor], key: [Tensor], value: [Tensor],
                           gang: GangMembership?, threads: Int, forceFrames: Bool = false) throws -> (ShardedRun, HybridHeadShard) {
        if let gang, !forceFrames {
            // Made before the clock starts; the largest message is a whole group chunk's heads slice.
            let largest = schedule.groupChunks.map(\.count).max() ?? 0
            let width = max(schedule.heads, schedule.keyHeads) / schedule.ulyssesDegree * (query[0].shape[2] + 1)
            try gang.reserveSharedMemory(bytesPerTensor: largest * width * 4)
        }
        let exchange = AllToAllExchange(rank: schedule.rank, members: schedule.groupRanks, gang: gang, forceFrames: forceFrames)
        var timings: [StepTiming] = []
        // All-to-all in: my sub-ranges of each member's heads out; the group's chunks of my heads in.
        let local = (q: Tensor.concatenatingRows(query), k: Tensor.concatenatingRows(key), v: Tensor.concatenatingRows(value))
        let parts = try exchange.allToAll(tags: ["hq", "hk", "hv"], step: 0, timings: &timings) { peer in
            let index = peer % schedule.ulyssesDegree
            return [local.q.heads(schedule.queryHeads(ofMember: index)), local.k.heads(schedule.keyHeads(ofMember: index)),
                    local.v.heads(schedule.keyHeads(ofMember: index))]
        }
        let shard = (q: chunks(parts[0], schedule), k: chunks(parts[1], schedule), v: chunks(parts[2], schedule))
        // The ring across groups, among the ranks with my member index.
        let ringStart = exchange.elapsed
        let ring = try RingExecutor.run(schedule.ring, query: shard.q, key: shard.k, value: shard.v, gang: gang, threads: threads,
                                        forceFrames: forceFrames, gangRanks: schedule.ringRanks)
        timings += shifted(ring.timings, by: ringStart)
        // All-to-all back: each member's sub-ranges of my heads' out and lse; mine of its heads in.
        let back = try exchange.allToAll(tags: ["ho", "hl"], step: schedule.groups + 1, timings: &timings) { peer in
            let index = peer % schedule.ulyssesDegree
            return [rows(ring.outputs.map(\.output), of: index, schedule), rows(ring.outputs.map(\.logSumExp), of: index, schedule)]
        }
        let output = Tensor.concatenatingHeads(back[0]), logSumExp = Tensor.concatenatingHeads(back[1])
        let outputs = try zip(split(output, schedule), split(logSumExp, schedule)).map {
            try PartialAttention(output: $0, logSumExp: $1)
        }
        return (ShardedRun(outputs: outputs, timings: timings, wallSeconds: exchange.elapsed),
                HybridHeadShard(query: shard.q, key: shard.k, value: shard.v, results: ring.outputs))
    }

    /// The backward pass: ∂L/∂out through the group all-to-all, the ring's backward pass (K/V
    /// with their dK/dV accumulators) on the heads slice, dq, dk and dv back through the inverse
    /// all-to-all.
    /// - Parameter outputGradient: ∂L/∂out for this rank's sub-ranges.
    /// - Returns: dq, dk, dv for this rank's sub-ranges, the timeline and the wall time.
    public static func backward(_ schedule: HybridSchedule, shard: HybridHeadShard, outputGradient: [Tensor],
                                gang: GangMembership?, threads: Int,
                                forceFrames: Bool = false) throws -> (ShardedGradients, [StepTiming], Double) {
        let exchange = AllToAllExchange(rank: schedule.rank, members: schedule.groupRanks, gang: gang, forceFrames: forceFrames)
        var timings: [StepTiming] = []
        let local = Tensor.concatenatingRows(outputGradient)
        let parts = try exchange.allToAll(tags: ["hd"], step: 0, timings: &timings) { peer in
            [local.heads(schedule.queryHeads(ofMember: peer % schedule.ulyssesDegree))]
        }
        let ringStart = exchange.elapsed
        let (gradients, ringTimings, _) = try RingExecutor.backward(
            schedule.ring, query: shard.query, key: shard.key, value: shard.value, forward: shard.results,
            outputGradient: chunks(parts[0], schedule), gang: gang, threads: threads, forceFrames: forceFrames,
            gangRanks: schedule.ringRanks)
        timings += shifted(ringTimings, by: ringStart)
        let back = try exchange.allToAll(tags: ["hdq", "hdk", "hdv"], step: schedule.groups + 1, timings: &timings) { peer in
            let index = peer % schedule.ulyssesDegree
            return [rows(gradients.query, of: index, schedule), rows(gradients.key, of: index, schedule),
                    rows(gradients.value, of: index, schedule)]
        }
        let result = ShardedGradients(query: split(Tensor.concatenatingHeads(back[0]), schedule),
                                      key: split(Tensor.concatenatingHeads(back[1]), schedule),
                                      value: split(Tensor.concatenatingHeads(back[2]), schedule))
        return (result, timings, exchange.elapsed)
    }

    /// The group's chunks, whole, from each member's sub-ranges (`parts` by member index, each
    /// holding that member's sub-range of every chunk, in chunk order).
    private static func chunks(_ parts: [Tensor], _ schedule: HybridSchedule) -> [Tensor] {
        var offsets = [Int](repeating: 0, count: parts.count)   // rows of each member's part used so far
        return schedule.groupChunks.map { chunk in
            Tensor.concatenatingRows(parts.enumerated().map { index, part in
                let count = schedule.part(chunk, member: index).count
                defer { offsets[index] += count }
                return part.rows(offsets[index]..<(offsets[index] + count))
            })
        }
    }

    /// Member `index`'s sub-range of each whole chunk, stacked in chunk order.
    private static func rows(_ whole: [Tensor], of index: Int, _ schedule: HybridSchedule) -> Tensor {
        Tensor.concatenatingRows(zip(whole, schedule.groupChunks).map { tensor, chunk in
            let range = schedule.part(chunk, member: index)
            return tensor.rows((range.lowerBound - chunk.lowerBound)..<(range.upperBound - chunk.lowerBound))
        })
    }

    /// This rank's stacked sub-ranges cut apart again, one tensor per sub-range.
    private static func split(_ stacked: Tensor, _ schedule: HybridSchedule) -> [Tensor] {
        var start = 0
        return schedule.ranges(ofRank: schedule.rank).map { range in
            defer { start += range.count }
            return stacked.rows(start..<(start + range.count))
        }
    }

    /// The ring's timeline as steps 1 … r of the whole pass, timed from the pass's start.
    private static func shifted(_ timings: [StepTiming], by offset: Double) -> [StepTiming] {
        timings.map { timing in
            var moved = timing
            moved.step += 1
            moved.start += offset
            return moved
        }
    }
}
