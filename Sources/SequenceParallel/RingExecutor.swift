import Attention
import Cluster
import Foundation
import TensorCore

/// Where one step's time went on one rank.
public struct StepTiming: Sendable {
    public var step: Int
    /// Seconds from the start of the run to the start of the step.
    public var start: Double
    /// Posting the sends (a copy into shared memory, or handing frames to libzmq).
    public var sendSeconds: Double
    /// Computing and merging this step's blocks.
    public var computeSeconds: Double
    /// Waiting for the next step's blocks after computing: communication not hidden by compute.
    public var waitSeconds: Double
    public var blocks: Int
    /// Tensor bytes this rank sent and received during the step, as the gang counted them.
    public var bytesSent = 0
    public var bytesReceived = 0
}

/// The result of a schedule on one rank: its output chunks and its timeline.
public struct ShardedRun: Sendable {
    /// One partial result per own chunk, complete after the last step.
    public var outputs: [PartialAttention]
    public var timings: [StepTiming]
    public var wallSeconds: Double
}

/// Runs a ring schedule on one rank of a gang.
public enum RingExecutor {
    /// Runs `schedule` with this rank's chunks, exchanging K/V chunks with the gang.
    /// - Parameters:
    ///   - query, key, value: this rank's chunks, in the order `layout.chunks(ofRank:)` gives.
    ///   - gang: the rank's gang; nil only for a single rank.
    ///   - threads: attention threads (0: as many as the machine has).
    ///   - forceFrames: send plain frames even to a rank on this host.
    ///   - gangRanks: the gang rank at each ring position, when the ring is a subset of the gang
    ///     (USP's ring across groups); nil when ring position and gang rank agree.
    /// - Throws: `ClusterError` from the gang, `AttentionError` from a block.
    public static func run(_ schedule: RingSchedule, query: [Tensor], key: [Tensor], value: [Tensor],
                           gang: GangMembership?, threads: Int, forceFrames: Bool = false,
                           gangRanks: [Int]? = nil) throws -> ShardedRun {
        let layout = schedule.layout
        let peer: (Int) -> Int = { gangRanks?[$0] ?? $0 }
        let mine = layout.chunks(ofRank: schedule.rank)
        precondition(query.count == mine.count && key.count == mine.count && value.count == mine.count,
                     "rank \(schedule.rank) needs \(mine.count) chunk(s) of q, k and v")
        let heads = query[0].shape[1], d = query[0].shape[2]
        var outputs = query.map { PartialAttention(empty: $0.shape[0], heads: heads, headDimension: d) }
        var heldKey = key, heldValue = value
        var timings: [StepTiming] = []
        if let gang, !forceFrames {
            let largest = (0..<layout.ranks).flatMap { layout.chunks(ofRank: $0) }.map { layout.range(ofChunk: $0).count }.max() ?? 0
            try gang.reserveSharedMemory(bytesPerTensor: largest * key[0].shape[1] * key[0].shape[2] * 4)
        }
        let clock = ContinuousClock(), begin = clock.now
        for step in schedule.steps {
            let stepStart = clock.now, bytesBefore = gang?.byteTotals
            // Post this step's sends first, so the transfer overlaps the compute below.
            if let next = step.sendTo, let gang {
                for (index, (k, v)) in zip(heldKey, heldValue).enumerated() {
                    try gang.send(k, to: peer(next), tag: "k\(step.step).\(index)", forceFrames: forceFrames)
                    try gang.send(v, to: peer(next), tag: "v\(step.step).\(index)", forceFrames: forceFrames)
                }
            }
            let sent = clock.now
            let held = layout.chunks(ofRank: step.keyOwner)
            for block in step.blocks {
                let mask = layout.mask(of: block, queryChunk: mine[block.queryChunk], keyChunk: held[block.keyChunk])
                let part = try BlockwiseAttention(mask: mask, threads: threads)
                    .forward(query: query[block.queryChunk], key: heldKey[block.keyChunk], value: heldValue[block.keyChunk])
                try outputs[block.queryChunk].merge(part)
            }
            let computed = clock.now
            if let previous = step.receiveFrom, let gang {
                let count = layout.chunks(ofRank: (step.keyOwner - 1 + layout.ranks) % layout.ranks).count
                heldKey = try (0..<count).map { index in try gang.receiveTensor("k\(step.step).\(index)", from: peer(previous)) }
                heldValue = try (0..<count).map { index in try gang.receiveTensor("v\(step.step).\(index)", from: peer(previous)) }
            }
            let received = clock.now
            timings.append(StepTiming(step: step.step, start: (stepStart - begin).inSeconds, sendSeconds: (sent - stepStart).inSeconds,
                                      computeSeconds: (computed - sent).inSeconds, waitSeconds: (received - computed).inSeconds,
                                      blocks: step.blocks.count).counting(since: bytesBefore, gang))
        }
        return ShardedRun(outputs: outputs, timings: timings, wallSeconds: (clock.now - begin).inSeconds)
    }
}
