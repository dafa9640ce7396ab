import Attention
import Cluster
import Foundation
import TensorCore

/// A rank's gradients: dq for its own chunks, dk and dv for its own K/V chunks.
public struct ShardedGradients: Sendable {
    public var query: [Tensor]
    public var key: [Tensor]
    public var value: [Tensor]
}

extension RingExecutor {
    /// The backward pass of a ring schedule: K/V travel round the ring again, each with a dK/dV
    /// accumulator that every rank adds its queries' share to; after P steps the accumulators
    /// take one more hop home. dq accumulates at home.
    ///
    /// Bytes per rank: (P − 1)·2·c·Hkv·d·4 for K/V, P·2·c·Hkv·d·4 for the accumulators.
    /// - Parameters:
    ///   - forward: this rank's forward outputs (the global out and lse of its queries).
    ///   - outputGradient: ∂L/∂out for this rank's chunks.
    ///   - gangRanks: the gang rank at each ring position (nil: the same), as in `run`.
    ///   - partialsGoHome: TokenRing's backward: each holder sends its dK/dV partial straight to
    ///     the K/V owner over the mesh at once, instead of adding it to an accumulator that
    ///     travels with the block; (P − 1)·2·c·Hkv·d·4 of partials instead of P·2·c·Hkv·d·4, and
    ///     no step waits for the previous rank's accumulator.
    public static func backward(_ schedule: RingSchedule, query: [Tensor], key: [Tensor], value: [Tensor],
                                forward: [PartialAttention], outputGradient: [Tensor], gang: GangMembership?,
                                threads: Int, forceFrames: Bool = false,
                                partialsGoHome: Bool = false, gangRanks: [Int]? = nil) throws -> (ShardedGradients, [StepTiming], Double) {
        let layout = schedule.layout
        let peer: (Int) -> Int = { gangRanks?[$0] ?? $0 }
        let mine = layout.chunks(ofRank: schedule.rank)
        var dq = query.map { Tensor(uncheckedZeros: $0.shape) }
        var heldKey = key, heldValue = value
        var heldDK = key.map { Tensor(uncheckedZeros: $0.shape) }, heldDV = value.map { Tensor(uncheckedZeros: $0.shape) }
        var ownDK = heldDK, ownDV = heldDV                        // partialsGoHome: this rank's sums
        var timings: [StepTiming] = []
        let clock = ContinuousClock(), begin = clock.now
        for step in schedule.steps {
            let stepStart = clock.now
            let next = (schedule.rank + 1) % layout.ranks
            if let target = step.sendTo, let gang {
                for index in heldKey.indices {
                    try gang.send(heldKey[index], to: peer(target), tag: "bk\(step.step).\(index)", forceFrames: forceFrames)
                    try gang.send(heldValue[index], to: peer(target), tag: "bv\(step.step).\(index)", forceFrames: forceFrames)
                }
            }
            let sent = clock.now
            let held = layout.chunks(ofRank: step.keyOwner)
            for block in step.blocks {
                let mask = layout.mask(of: block, queryChunk: mine[block.queryChunk], keyChunk: held[block.keyChunk])
                let gradients = try BlockwiseAttention(mask: mask, threads: threads).backward(
                    query: query[block.queryChunk], key: heldKey[block.keyChunk], value: heldValue[block.keyChunk],
                    result: forward[block.queryChunk], outputGradient: outputGradient[block.queryChunk])
                dq[block.queryChunk].add(gradients.query)
                heldDK[block.keyChunk].add(gradients.key)
                heldDV[block.keyChunk].add(gradients.value)
            }
            let computed = clock.now
            if partialsGoHome {
                if step.keyOwner == schedule.rank {
                    for index in heldDK.indices { ownDK[index].add(heldDK[index]); ownDV[index].add(heldDV[index]) }
                } else if let gang {
                    for index in heldDK.indices {
                        try gang.send(heldDK[index], to: peer(step.keyOwner), tag: "tdk\(step.step).\(index)", forceFrames: forceFrames)
                        try gang.send(heldDV[index], to: peer(step.keyOwner), tag: "tdv\(step.step).\(index)", forceFrames: forceFrames)
                    }
                }
                if let gang, let previous = step.receiveFrom {
                    let incoming = layout.chunks(ofRank: (step.keyOwner - 1 + layout.ranks) % layout.ranks).count
                    heldKey = try (0..<incoming).map { try gang.receiveTensor("bk\(step.step).\($0)", from: peer(previous)) }
                    heldValue = try (0..<incoming).map { try gang.receiveTensor("bv\(step.step).\($0)", from: peer(previous)) }
                    heldDK = heldKey.map { Tensor(uncheckedZeros: $0.shape) }
                    heldDV = heldValue.map { Tensor(uncheckedZeros: $0.shape) }
                }
            } else if let gang, layout.ranks > 1 {
                // The accumulators move on after this rank's share; from the last step they go home.
                for index in heldDK.indices {
                    try gang.send(heldDK[index], to: peer(next), tag: "bdk\(step.step).\(index)", forceFrames: forceFrames)
                    try gang.send(heldDV[index], to: peer(next), tag: "bdv\(step.step).\(index)", forceFrames: forceFrames)
                }
                let previous = (schedule.rank - 1 + layout.ranks) % layout.ranks
                let incoming = layout.chunks(ofRank: (step.keyOwner - 1 + layout.ranks) % layout.ranks).count
                if step.receiveFrom != nil {
                    heldKey = try (0..<incoming).map { try gang.receiveTensor("bk\(step.step).\($0)", from: peer(previous)) }
                    heldValue = try (0..<incoming).map { try gang.receiveTensor("bv\(step.step).\($0)", from: peer(previous)) }
                }
                heldDK = try (0..<incoming).map { try gang.receiveTensor("bdk\(step.step).\($0)", from: peer(previous)) }
                heldDV = try (0..<incoming).map { try gang.receiveTensor("bdv\(step.step).\($0)", from: peer(previous)) }
            }
            timings.append(StepTiming(step: step.step, start: (stepStart - begin).inSeconds, sendSeconds: (sent - stepStart).inSeconds,
                                      computeSeconds: (computed - sent).inSeconds, waitSeconds: (clock.now - computed).inSeconds,
                                      blocks: step.blocks.count))
        }
        if partialsGoHome {
            // The partials for this rank's K/V, from the rank that held them at each later step.
            if let gang {
                for step in 1..<layout.ranks {
                    let holder = (schedule.rank + step) % layout.ranks
                    for index in ownDK.indices {
                        ownDK[index].add(try gang.receiveTensor("tdk\(step).\(index)", from: peer(holder)))
                        ownDV[index].add(try gang.receiveTensor("tdv\(step).\(index)", from: peer(holder)))
                    }
                }
            }
            return (ShardedGradients(query: dq, key: ownDK, value: ownDV), timings, (clock.now - begin).inSeconds)
        }
        // After the last step's hop, the accumulators held are this rank's own, complete.
        return (ShardedGradients(query: dq, key: heldDK, value: heldDV), timings, (clock.now - begin).inSeconds)
    }
}

extension RingSchedule {
    /// Float32 bytes this rank sends in TokenRing's backward pass: K/V as in the forward ring,
    /// plus a dK/dV partial to each other K/V owner, (P − 1)·2·c·Hkv·d·4.
    public func directBackwardBytesSent(keyHeads: Int, headDimension d: Int) -> Int {
        bytesSent(keyHeads: keyHeads, headDimension: d)
            + steps.filter { $0.keyOwner != rank }.reduce(0) { $0 + 2 * layout.tokenCount(ofRank: $1.keyOwner) * keyHeads * d * 4 }
    }

    /// Float32 bytes this rank sends in the backward pass: K/V as in the forward pass plus the
    /// dK/dV accumulators on every step, P·2·c·Hkv·d·4 (none for a single rank).
    public func backwardBytesSent(keyHeads: Int, headDimension d: Int) -> Int {
        guard layout.ranks > 1 else { return 0 }
        return bytesSent(keyHeads: keyHeads, headDimension: d)
            + steps.reduce(0) { $0 + 2 * layout.tokenCount(ofRank: $1.keyOwner) * keyHeads * d * 4 }
    }
}

extension Tensor {
    /// Adds `other` element by element (same shape).
    mutating func add(_ other: Tensor) {
        precondition(shape == other.shape, "adding \(other.shape) to \(shape)")
        withUnsafeMutableBufferPointer { a in
            other.storage.withUnsafeBufferPointer { b in
                for i in 0..<a.count { a[i] += b[i] }
            }
        }
    }
}
