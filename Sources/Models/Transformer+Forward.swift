import Foundation
import TensorCore

extension Transformer {
    /// Runs the model on a batch and returns the mean cross-entropy over targets ≥ 0.
    ///
    /// Keeps every activation `backward()` needs, the logits (see `logits`), and whatever `hooks`
    /// asks for; applies `interventions`.
    /// - Parameters:
    ///   - tokens: batch·context token ids in 0..<V, row-major (batch, context).
    ///   - targets: batch·context next-token ids in 0..<V, or −1 to ignore a position.
    ///   - batch: sequences in this batch, 1...maxBatch.
    ///   - positionLosses: if given, batch·context floats receiving each position's loss (0 where ignored).
    /// - Returns: the mean loss over the targets that are not ignored (0 if all are).
    /// - Throws: `ModelError.input` naming the bad length, batch, token, target or intervention.
    /// - Complexity: O(batch·T·(layers·(d² + d·hidden + T·d) + d·V)).
    public func forward(tokens: [Int32], targets: [Int32], batch: Int,
                        positionLosses: UnsafeMutablePointer<Float>? = nil) throws(ModelError) -> Float {
        try prepareForward(tokens: tokens, targets: targets, batch: batch, checksRoutes: true)
        let loss = pass { runForward(batch: batch) }
        if let positionLosses { positionLosses.update(from: arena.losses, count: batch * config.context) }
        return loss
    }

    /// Checks a batch (and `interventions`, and `routes` when asked) and records it as the pass's
    /// input; shared by `forward` and the staged pass, so both refuse the same inputs.
    func prepareForward(tokens: [Int32], targets: [Int32], batch: Int, checksRoutes: Bool) throws(ModelError) {
        let t = config.context
        guard (1...maxBatch).contains(batch) else {
            throw .input("batch \(batch) is outside 1...\(maxBatch) (the maxBatch this model was built for)")
        }
        let n = batch * t       // after the check, so a wild batch cannot overflow
        guard tokens.count == n else {
            throw .input("tokens has \(tokens.count) ids; batch \(batch) × context \(t) needs \(n)")
        }
        guard targets.count == n else {
            throw .input("targets has \(targets.count) ids; batch \(batch) × context \(t) needs \(n)")
        }
        let v = Int32(config.vocabulary)
        var targetCount = 0
        for i in 0..<n {
            guard tokens[i] >= 0 && tokens[i] < v else {
                throw .input("token \(tokens[i]) at sequence \(i / t), position \(i % t) is outside the vocabulary 0..<\(v)")
            }
            guard targets[i] >= -1 && targets[i] < v else {
                throw .input("target \(targets[i]) at sequence \(i / t), position \(i % t) is outside 0..<\(v) (or −1 to ignore)")
            }
            if targets[i] >= 0 { targetCount += 1 }
        }
        try interventions.validate(for: config)
        if checksRoutes { try validateRoutes(tokens: n) }
        try validateMixture(tokens: n)
        var forced: [[[Int]]?] = []
        if !interventions.forcedAttention.isEmpty {
            for l in 0..<config.depth {
                forced.append(try interventions.forcedKeys(layer: l, heads: config.heads, context: t,
                                                            tokens: tokens, batch: batch))
            }
        }
        appliedInterventions = interventions
        appliedForcedKeys = forced
        lastTokens = tokens
        lastTargets = targets
        lastTargetCount = targetCount
        lastBatch = batch
        stagedStreams = 0
        hooks.captured = [:]
    }

    /// The whole pass: the embedding, each layer's two halves, the head. The staged pass
    /// (`Transformer+Staged.swift`) runs the same steps, so both give the same bits.
    private func runForward(batch: Int) -> Float {
        phases?.mark(.other)
        embedStep(batch: batch)
        phases?.mark(.embedding)
        for l in 0..<config.depth {
            attentionStep(layer: l, batch: batch)
            ffnStep(layer: l, batch: batch, uniform: nil)
            phases?.mark(.ffn)
        }
        let loss = headStep(batch: batch)
        phases?.mark(.head)
        return loss
    }

    /// The attention of layer `l` as the last forward pass set it up.
    func attentionKernel(layer l: Int, batch: Int) -> AttentionKernel {
        let a = arena.layers[l]
        let zeroed = appliedInterventions.zeroedHeads.filter { $0.layer == l }
        var kernel = AttentionKernel(
            batch: batch, context: config.context, heads: config.heads, headDimension: config.headDimension,
            kind: config.layers[l].attention, qkv: a.qkv, weights: a.weights, output: a.heads,
            zeroedHeads: zeroed.isEmpty ? nil : (0..<config.heads).map { zeroed.contains(.init(layer: l, head: $0)) },
            forcedKeys: appliedForcedKeys.isEmpty ? nil : appliedForcedKeys[l], workspaces: split.workspaces, packs: split.packs,
            usesOpenBLAS: split.usesOpenBLASProducts)
        kernel.fusesItems = !unfused.contains(.attention)
        kernel.fusesBackward = !unfused.contains(.attentionBackward)
        return kernel
    }

    /// Copies layer `w`'s W_Q, W_K, W_V side by side into `arena.packedWeights`, (d, 3d).
    func packQKV(_ w: LayerWeights) {
        let d = config.dModel, packed = arena.packedWeights
        for r in 0..<d {
            (packed + r * 3 * d).update(from: w.wq + r * d, count: d)
            (packed + r * 3 * d + d).update(from: w.wk + r * d, count: d)
            (packed + r * 3 * d + 2 * d).update(from: w.wv + r * d, count: d)
        }
    }

    /// Copies [dW_Q | dW_K | dW_V] from `arena.packedGradient`, (d, 3d), into layer `w`'s three
    /// gradients: `packQKV`'s inverse for the backward pass.
    func unpackQKVGradient(_ w: LayerWeights) {
        let d = config.dModel
        for r in 0..<d {
            let row = arena.packedGradient + r * 3 * d
            (w.dwq + r * d).update(from: row, count: d)
            (w.dwk + r * d).update(from: row + d, count: d)
            (w.dwv + r * d).update(from: row + 2 * d, count: d)
        }
    }

    /// `stream[0] = embed.token[token] + embed.position[position]`, row by row.
    func embed(rows n: Int) {
        let d = config.dModel, t = config.context
        // Read-only inputs and disjoint output rows per worker.
        nonisolated(unsafe) let x = arena.stream[0], token = parameters.value("embed.token"), position = parameters.value("embed.position")
        lastTokens.withUnsafeBufferPointer { ids in
            nonisolated(unsafe) let ids = ids.baseAddress!
            split.rows(n) { range, _ in
                for r in range {
                    let out = x + r * d, a = token + Int(ids[r]) * d, b = position + (r % t) * d
                    for j in 0..<d { out[j] = a[j] + b[j] }
                }
            }
        }
    }

    /// LayerNorm (ε = 1e-5) of `rows` rows of d, split across the workers.
    func layerNorm(_ input: UnsafeMutablePointer<Float>, rows: Int, gain: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>,
                   into output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        let d = config.dModel
        // Each worker reads and writes its own rows.
        nonisolated(unsafe) let input = input, gain = gain, bias = bias, output = output, mean = mean, rstd = rstd
        split.rows(rows) { range, _ in
            let r = range.lowerBound
            Kernels.layerNorm(input + r * d, rows: range.count, columns: d, gamma: gain, beta: bias, epsilon: 1e-5,
                              into: output + r * d, mean: mean + r, rstd: rstd + r)
        }
    }

    /// Whether the FFN's first product applies the ReLU as it stores (`TiledGEMM.Epilogue.relu`):
    /// then only the activations after it exist, and the backward pass masks by them (x > 0
    /// exactly where relu(x) > 0). GELU keeps its own pass.
    var fusesReLU: Bool { config.activation == .relu }

    /// The FFN nonlinearity, elementwise, split across the workers.
    func activate(_ input: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>, count: Int) {
        nonisolated(unsafe) let input = input, output = output  // disjoint ranges per worker
        let isGELU = config.activation == .gelu
        split.rows((count + 15) / 16) { blocks, _ in
            let start = blocks.lowerBound * 16, length = min(blocks.upperBound * 16, count) - start
            if isGELU {
                Kernels.gelu(input + start, into: output + start, count: length)
            } else {
                Kernels.relu(input + start, into: output + start, count: length)
            }
        }
    }

    /// Copies `count` floats, split across the workers.
    func copy(_ source: UnsafeMutablePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int) {
        nonisolated(unsafe) let source = source, target = target  // disjoint ranges per worker
        split.rows(count) { range, _ in (target + range.lowerBound).update(from: source + range.lowerBound, count: range.count) }
    }

    /// Each position's loss `lse − logit[target]` and their mean; and, in the same pass over each
    /// row, the loss's gradient with respect to the logits into `arena.dLogits`:
    /// `(softmax − onehot(target)) / targets`, 0 on ignored positions. The backward pass starts
    /// from it; written here, the softmax row is still in L1 when it is scaled, and no separate
    /// pass reads it back (one (N, V) buffer fewer).
    func crossEntropy(rows n: Int) -> Float {
        lastTargets.withUnsafeBufferPointer { targets in
            let rows = crossEntropyRows(targets: targets.baseAddress!)
            split.rows(n) { range, _ in rows(range) }
        }
        return meanLoss(rows: n)
    }

    /// `crossEntropy`'s pass over some rows, for the workers to share (each its own rows);
    /// `targets` must outlive the returned function's calls.
    func crossEntropyRows(targets: UnsafePointer<Int32>) -> @Sendable (Range<Int>) -> Void {
        let v = config.vocabulary
        let inverse: Float = lastTargetCount > 0 ? 1 / Float(lastTargetCount) : 0
        // Unfused (`TrainingFusion.crossEntropy`), the rows keep the softmax and the backward
        // pass turns them into the gradient.
        let scales = !unfused.contains(.crossEntropy)
        logitsHoldSoftmax = !scales
        // Each call writes only its own rows; `lastTargets` is not changed during the step.
        nonisolated(unsafe) let logits = arena.logits, gradients = arena.dLogits, losses = arena.losses, targets = targets
        return { range in
            for r in range {
                let row = logits + r * v, g = gradients + r * v
                let target = Int(targets[r])
                guard target >= 0 else {
                    losses[r] = 0
                    g.update(repeating: 0, count: v)
                    continue
                }
                g.update(from: row, count: v)
                let (rowMax, rowSum) = CausalRows.softmax(g, visible: v, length: v)
                let loss = rowMax + logf(rowSum) - row[target]
                losses[r] = loss
                if scales {
                    Self.scale(g, count: v, by: inverse)
                    g[target] -= inverse
                }
            }
        }
    }

    /// The mean of the positions' losses, in row order over all rows (ignored ones hold 0): the
    /// same bits on any number of threads.
    func meanLoss(rows n: Int) -> Float {
        guard lastTargetCount > 0 else { return 0 }
        var total: Float = 0
        for r in 0..<n { total += arena.losses[r] }
        return total / Float(lastTargetCount)
    }

    /// `x[j] ← x[j]·factor` for j < count, 16 lanes at a time (each product rounded once, as
    /// the scalar loop would).
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
        let f = SIMD16<Float>(repeating: factor)
        var j = 0
        while j + 16 <= count {
            let raw = UnsafeMutableRawPointer(x + j)
            raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) * f, as: SIMD16<Float>.self)
            j += 16
        }
        while j < count { x[j] *= factor; j += 1 }
    }

    /// A copy of `count` floats as a tensor of `shape`.
    func tensor(_ source: UnsafePointer<Float>, shape: [Int]) -> Tensor {
        Tensor(unchecked: shape, storage: Array(UnsafeBufferPointer(start: source, count: shape.reduce(1, *))))
    }
}
