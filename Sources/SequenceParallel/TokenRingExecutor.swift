import Attention
import Cluster
import Foundation
import TensorCore

/// Runs a TokenRing schedule on one rank of a gang (a full mesh: results go straight home).
public enum TokenRingExecutor {
    /// - Parameters: query, key, value: this rank's chunks, in the layout's order.
    public static func run(_ schedule: TokenRingSchedule, query: [Tensor], key: [Tensor], value: [Tensor],
                           gang: GangMembership?, threads: Int, forceFrames: Bool = false) throws -> ShardedRun {
        let layout = schedule.layout, rank = schedule.rank
        let mine = layout.chunks(ofRank: rank)
        let heads = query[0].shape[1], d = query[0].shape[2]
        var outputs = query.map { PartialAttention(empty: $0.shape[0], heads: heads, headDimension: d) }
        var held: [Int: Tensor] = Dictionary(uniqueKeysWithValues: query.enumerated().map { ($0.offset, $0.element) })
        var timings: [StepTiming] = []
        if let gang, !forceFrames {
            // Made before the clock starts, so the first step's send is not charged for the segment.
            let largest = (0..<layout.chunkCount).map { layout.range(ofChunk: $0).count }.max() ?? 0
            try gang.reserveSharedMemory(bytesPerTensor: largest * heads * d * 4)
        }
        let clock = ContinuousClock(), begin = clock.now
        for step in schedule.steps {
            let stepStart = clock.now, bytesBefore = gang?.byteTotals
            if let next = step.sendTo, let gang {
                for chunk in step.forwardedChunks {
                    try gang.send(held[chunk]!, to: next, tag: "q\(step.step).\(chunk)", forceFrames: forceFrames)
                }
            }
            let sent = clock.now
            let owner = layout.chunks(ofRank: step.queryOwner)
            var partials: [Int: PartialAttention] = [:]
            for block in step.blocks {
                let mask = layout.mask(of: block, queryChunk: owner[block.queryChunk], keyChunk: mine[block.keyChunk])
                let part = try BlockwiseAttention(mask: mask, threads: threads)
                    .forward(query: held[block.queryChunk]!, key: key[block.keyChunk], value: value[block.keyChunk])
                if var existing = partials[block.queryChunk] {
                    try existing.merge(part)
                    partials[block.queryChunk] = existing
                } else {
                    partials[block.queryChunk] = part
                }
            }
            for (chunk, partial) in partials.sorted(by: { $0.key < $1.key }) {
                if step.queryOwner == rank {
                    try outputs[chunk].merge(partial)
                } else if let gang {
                    // Straight back to the owner, one hop on the mesh.
                    try gang.send(partial.output, to: step.queryOwner, tag: "o\(step.step).\(chunk)", forceFrames: forceFrames)
                    try gang.send(partial.logSumExp, to: step.queryOwner, tag: "l\(step.step).\(chunk)", forceFrames: forceFrames)
                }
            }
            let computed = clock.now
            if let previous = step.receiveFrom, let gang {
                let next = schedule.steps[step.step + 1]
                held = [:]
                for chunk in next.heldChunks { held[chunk] = try gang.receiveTensor("q\(step.step).\(chunk)", from: previous) }
            }
            timings.append(StepTiming(step: step.step, start: (stepStart - begin).inSeconds, sendSeconds: (sent - stepStart).inSeconds,
                                      computeSeconds: (computed - sent).inSeconds, waitSeconds: (clock.now - computed).inSeconds,
                                      blocks: step.blocks.count).counting(since: bytesBefore, gang))
        }
        // The partial results for this rank's queries, from every rank that held them.
        let tailStart = clock.now, tailBefore = gang?.byteTotals
        if let gang {
            for incoming in schedule.incomingResults {
                let output = try gang.receiveTensor("o\(incoming.step).\(incoming.chunk)", from: incoming.from)
                let lse = try gang.receiveTensor("l\(incoming.step).\(incoming.chunk)", from: incoming.from)
                try outputs[incoming.chunk].merge(PartialAttention(output: output, logSumExp: lse))
            }
        }
        timings.append(StepTiming(step: schedule.steps.count, start: (tailStart - begin).inSeconds, sendSeconds: 0,
                                  computeSeconds: 0, waitSeconds: (clock.now - tailStart).inSeconds, blocks: 0)
            .counting(since: tailBefore, gang))
        return ShardedRun(outputs: outputs, timings: timings, wallSeconds: (clock.now - begin).inSeconds)
    }
}
