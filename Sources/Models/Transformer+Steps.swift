import TensorCore

/// The steps of a forward pass, each writing one stream of `arena.stream` from the one before:
/// `forward` runs them in order, the staged pass (`Transformer+Staged.swift`) runs them as a
/// route tree needs, and both give the same bits because they are the same code.
extension Transformer {
    /// `stream[0]` from the tokens; clears the duo layers' counts.
    func embedStep(batch: Int) {
        embed(rows: batch * config.context)
        duo?.reset(layers: config.depth)
    }

    /// Layer `l`'s attention half: `stream[2l+1] = stream[2l] + Attn(LN₁(stream[2l]))`.
    func attentionStep(layer l: Int, batch: Int) {
        let t = config.context, d = config.dModel, n = batch * t
        let layer = config.layers[l]
        let input = arena.stream[2 * l], middle = arena.stream[2 * l + 1]
        let removed = appliedInterventions.removedLayers.contains(l)
        let w = layerWeights[l], a = arena.layers[l]
        guard layer.attention != .none && !removed else {
            copy(input, to: middle, count: n * d)
            return
        }
        if blocksAttention(layer: l, batch: batch) {
            blockedAttention(layer: l, batch: batch)
            phases?.mark(.attention)      // block by block: all of it
            return
        }
        projectQKV(layer: l, rows: n)
        phases?.mark(.attentionInput)
        if appliedInterventions.zeroedFirstValues.contains(l) {
            for b in 0..<batch { (a.qkv + b * t * 3 * d + 2 * d).update(repeating: 0, count: d) }
        }
        let kernel = attentionKernel(layer: l, batch: batch)
        var scores: [Float] = hooks.captures(layer: l) && hooks.captureScores ? Array(repeating: 0, count: batch * config.heads * t * t) : []
        itemPass {
            if scores.isEmpty {
                kernel.forward(threads: threads, scores: nil)
            } else {
                scores.withUnsafeMutableBufferPointer { kernel.forward(threads: threads, scores: $0.baseAddress) }
            }
        }
        phases?.mark(.attention)
        copy(input, to: middle, count: n * d)
        split.gemm(.none, .none, m: n, n: d, k: d, a: a.heads, lda: d, b: w.wo, ldb: d, beta: 1, c: middle, ldc: d)
        if hooks.captures(layer: l) { captureAttention(layer: l, batch: batch, scores: scores) }
        phases?.mark(.attentionOutput)
    }

    /// The alignment of a balanced split of `count` sequences: a multiple of `aligned` that also
    /// holds whole blocks of `block` when that leaves at least eight pieces' worth, so no piece
    /// runs a partial block's smaller products; else `aligned`.
    static func wholeBlocks(_ aligned: Int, _ block: Int, of count: Int) -> Int {
        var multiple = aligned
        while multiple % block != 0 { multiple += aligned }
        return multiple * 8 <= count ? multiple : aligned
    }

    /// Sequences per block of `blockedAttention`: about 256 rows, whose LayerNorm, q | k | v,
    /// (T, T) tiles and head outputs (≈ 600 KiB at d = 64, T = 64) stay in L2 from the product
    /// that writes them to the one that reads them.
    var attentionSequenceBlock: Int { max(1, 256 / config.context) }

    /// Whether `attentionStep` runs `blockedAttention`. On one thread when the batch makes more
    /// than one block; on several when every worker gets a sequence, Loom's own products run
    /// and no staged pass is under way (its blocks share one block's scratch).
    func blocksAttention(layer l: Int, batch: Int) -> Bool {
        guard blocksRows && !hooks.captures(layer: l) else { return false }
        if threads == 1 { return batch > attentionSequenceBlock }
        return batch >= threads && stagedStreams == 0 && !split.usesOpenBLASProducts && !split.usesBLASThreads
    }

    /// `attentionStep` a block of sequences at a time: each block's LayerNorm, Q, K, V
    /// projection, attention items and output projection, with W_QKV and W_O packed once. On
    /// several threads each worker takes a contiguous share of the sequences and runs its blocks
    /// alone: the four passes of a block then stay in that core's L2, where split pass by pass
    /// every pass streamed the whole batch through memory and the workers met at every pass.
    /// Row by row and item by item the arithmetic is `attentionStep`'s, so the bits are too.
    func blockedAttention(layer l: Int, batch: Int) {
        let t = config.context, d = config.dModel, heads = config.heads
        let w = layerWeights[l], a = arena.layers[l]
        let input = arena.stream[2 * l], middle = arena.stream[2 * l + 1]
        packQKV(w)
        // The packed weights are only read; the workers share them.
        nonisolated(unsafe) let products = RowBlockProduct.packed([(d, 3 * d, arena.packedWeights, 3 * d), (d, d, w.wo, d)],
                                                                  split: split, blocks: true)
        let zeroesFirstValues = appliedInterventions.zeroedFirstValues.contains(l)
        // A staged pass keeps nothing of this step but its output stream (no backward follows and
        // no hook reads it here), so every block reuses one block's worth of the backward's
        // scratch and the (T, T) weights stay in per-item scratch: a block's intermediates stay
        // in L2 instead of each layer's streaming to memory (the Duo-LLM oracle's evaluation).
        // Only one thread gets here with a staged pass (`blocksAttention`).
        let transient = stagedStreams > 0 && (appliedForcedKeys.isEmpty || appliedForcedKeys[l] == nil)
        let full = attentionKernel(layer: l, batch: transient ? min(batch, attentionSequenceBlock) : batch)
        let kernel = transient ? full.transient(qkv: arena.dqkv, output: arena.dHeads) : full
        let block = attentionSequenceBlock, split = split, usesBLASThreads = split.usesBLASThreads
        // Each worker reads the shared inputs and writes only its own sequences' rows and items.
        nonisolated(unsafe) let input_ = input, middle_ = middle, gain = w.ln1Gain, bias = w.ln1Bias
        nonisolated(unsafe) let normedBase = transient ? arena.dNormed : a.ln1, qkvBase = transient ? arena.dqkv : a.qkv
        nonisolated(unsafe) let outputBase = transient ? arena.dHeads : a.heads
        nonisolated(unsafe) let meanBase = transient ? arena.dStream : a.ln1Mean, rstdBase = transient ? arena.dStream : a.ln1Rstd
        split.rows(batch, aligned: Self.wholeBlocks(1, block, of: batch), balanced: true, grain: block) { sequences, worker in
            let scratch = AttentionKernel.Scratch(gemm: split.workspaces[worker], pack: split.packs[worker])
            for b0 in stride(from: sequences.lowerBound, to: sequences.upperBound, by: block) {
                let b1 = min(sequences.upperBound, b0 + block), r0 = b0 * t, rows = (b1 - b0) * t
                // Where the block's rows (and items) start in the buffers it writes.
                let row = transient ? 0 : r0, item = transient ? 0 : b0
                let rstd = transient ? rstdBase + rows : rstdBase
                Kernels.layerNorm(input_ + r0 * d, rows: rows, columns: d, gamma: gain, beta: bias, epsilon: 1e-5,
                                  into: normedBase + row * d, mean: meanBase + row, rstd: rstd + row)
                products[0](rows: rows, a: normedBase + row * d, lda: d, beta: 0, c: qkvBase + row * 3 * d, ldc: 3 * d, worker: worker)
                if zeroesFirstValues {
                    for b in item..<(item + b1 - b0) { (qkvBase + b * t * 3 * d + 2 * d).update(repeating: 0, count: d) }
                }
                let items = { for b in item..<(item + b1 - b0) { for h in 0..<heads { kernel.forward(batch: b, head: h, scores: nil, scratch: scratch) } } }
                if usesBLASThreads { BLASThreading.singleThreaded(items) } else { items() }
                (middle_ + r0 * d).update(from: input_ + r0 * d, count: rows * d)
                products[1](rows: rows, a: outputBase + row * d, lda: d, beta: 1, c: middle_ + r0 * d, ldc: d, worker: worker)
            }
        }
    }

    /// Layer `l`'s FFN half: `stream[2l+2] = stream[2l+1] + FFN(LN₂(stream[2l+1]))`; a duo layer
    /// takes `uniform` for every token when given, else `routes`.
    func ffnStep(layer l: Int, batch: Int, uniform: DuoRoute?) {
        let t = config.context, d = config.dModel, n = batch * t
        let layer = config.layers[l]
        let middle = arena.stream[2 * l + 1], output = arena.stream[2 * l + 2]
        let removed = appliedInterventions.removedLayers.contains(l) || appliedInterventions.removedFFNs.contains(l)
        let w = layerWeights[l], a = arena.layers[l]
        if layer.duo && !removed {
            duoForward(layer: l, rows: n, uniform: uniform)
        } else if layer.ffn == .mlp && !removed && blocksFFN(rows: n) {
            blockedFFN(layer: l, rows: n)
        } else if layer.ffn != .none && !removed {
            layerNorm(middle, rows: n, gain: w.ln2Gain, bias: w.ln2Bias, into: a.ln2, mean: a.ln2Mean, rstd: a.ln2Rstd)
            copy(middle, to: output, count: n * d)
            if layer.ffn == .mlp {
                let hidden = config.ffnHidden
                if fusesReLU {
                    split.gemm(.none, .none, m: n, n: hidden, k: d, a: a.ln2, lda: d, b: w.w1, ldb: hidden,
                               beta: 0, c: a.postActivation, ldc: hidden, epilogue: .relu)
                } else {
                    // GELU on each group of rows as the product finishes it, while they are in cache.
                    nonisolated(unsafe) let pre = a.preActivation, post = a.postActivation
                    split.gemm(.none, .none, m: n, n: hidden, k: d, a: a.ln2, lda: d, b: w.w1, ldb: hidden,
                               beta: 0, c: a.preActivation, ldc: hidden, rowsDone: { rows, _ in
                        let start = rows.lowerBound * hidden
                        Kernels.gelu(pre + start, into: post + start, count: rows.count * hidden)
                    })
                }
                split.gemm(.none, .none, m: n, n: d, k: hidden, a: a.postActivation, lda: hidden, b: w.w2, ldb: d,
                           beta: 1, c: output, ldc: d)
            } else {
                split.gemm(.none, .none, m: n, n: d, k: d, a: a.ln2, lda: d, b: w.w1, ldb: d, beta: 1, c: output, ldc: d)
            }
        } else {
            copy(middle, to: output, count: n * d)
        }
        if appliedInterventions.zeroedFirstResiduals.contains(l) {
            for b in 0..<batch { (output + b * t * d).update(repeating: 0, count: d) }
        }
        if hooks.captures(layer: l) && hooks.captureResiduals {
            hooks.captured[l, default: .init()].residualAfterAttention = tensor(middle, shape: [batch, t, d])
            hooks.captured[l, default: .init()].residualAfterFFN = tensor(output, shape: [batch, t, d])
        }
    }

    /// Rows per block of `blockedFFN` by default: the block's hidden activations (before and after the
    /// nonlinearity) stay in L2 between the two products. About 32 K floats (128 rows at d = 64,
    /// where blocks of 256 rows gained less on Zen 3), rounded up to whole strips of the tile's
    /// rows: 32 rows left a 2-row strip, four accumulators at half the tile's speed, and at
    /// d = 256 blocks of 36 made a Zen 3 step 1.3–1.8 % faster (`loom bench fusions --ffn-blocks`).
    /// On Zen 3 (512 KB of L2) blocks of 512–1,024 rows at d = 64 were 1–2.4 % slower; on Zen 4
    /// and Zen 5 (1 MB) 1–3 % faster, a gain found in the weight gradients outside the blocks.
    public static func defaultFFNRowBlock(ffnHidden: Int) -> Int {
        let strip = RegisterTile.rows, rows = max(16, (1 << 15) / max(1, ffnHidden))
        return (rows + strip - 1) / strip * strip
    }

    /// The rows per block the blocked FFN uses: `ffnRowBlockOverride` when set, else the default.
    var ffnRowBlock: Int { ffnRowBlockOverride.map { max(1, $0) } ?? Self.defaultFFNRowBlock(ffnHidden: config.ffnHidden) }

    /// Whether an MLP layer runs `blockedFFN` and `blockedFFNBackward`: on Loom's own products,
    /// with every worker given at least one block, and its row passes and ReLU mask fused (with
    /// either switched off for `loom bench fusions`, the passes run whole, as it measures).
    func blocksFFN(rows: Int) -> Bool {
        blocksRows && !split.usesOpenBLASProducts && !split.usesBLASThreads && rows >= threads * ffnRowBlock
            && split.fusesRowPasses && !unfused.contains(.reluMask)
    }

    /// An MLP layer's forward a block of rows at a time, each worker its own share of the rows:
    /// LayerNorm 2, the first product with its nonlinearity, the second product onto the
    /// residual, with W₁ and W₂ packed once. The block's activations go from the product that
    /// writes them to the one that reads them through L2, not memory. Row by row the arithmetic
    /// is the unblocked pass's, so the bits are too.
    func blockedFFN(layer l: Int, rows n: Int) {
        let d = config.dModel, hidden = config.ffnHidden
        let w = layerWeights[l], a = arena.layers[l]
        // The packed weights and inputs are only read; each worker writes its own rows.
        nonisolated(unsafe) let products = RowBlockProduct.packed([(d, hidden, w.w1, hidden), (hidden, d, w.w2, d)],
                                                                  split: split, blocks: true)
        nonisolated(unsafe) let middle = arena.stream[2 * l + 1], output = arena.stream[2 * l + 2]
        nonisolated(unsafe) let gain = w.ln2Gain, bias = w.ln2Bias, normed = a.ln2, mean = a.ln2Mean, rstd = a.ln2Rstd
        nonisolated(unsafe) let pre = a.preActivation, post = a.postActivation
        let relu = fusesReLU, block = ffnRowBlock
        split.rowBlocks(n, block: block, aligned: block) { r0, rows, worker in
            Kernels.layerNorm(middle + r0 * d, rows: rows, columns: d, gamma: gain, beta: bias, epsilon: 1e-5,
                              into: normed + r0 * d, mean: mean + r0, rstd: rstd + r0)
            (output + r0 * d).update(from: middle + r0 * d, count: rows * d)
            if relu {
                products[0](rows: rows, a: normed + r0 * d, lda: d, beta: 0, c: post + r0 * hidden, ldc: hidden,
                            epilogue: .relu, worker: worker)
            } else {
                products[0](rows: rows, a: normed + r0 * d, lda: d, beta: 0, c: pre + r0 * hidden, ldc: hidden, worker: worker)
                Kernels.gelu(pre + r0 * hidden, into: post + r0 * hidden, count: rows * hidden)
            }
            products[1](rows: rows, a: post + r0 * hidden, lda: hidden, beta: 1, c: output + r0 * d, ldc: d, worker: worker)
        }
    }

    /// The final LayerNorm, the unembedding and the cross-entropy of the last stream.
    func headStep(batch: Int) -> Float {
        let d = config.dModel, n = batch * config.context
        if blocksHead(rows: n) { return blockedHead(rows: n) }
        layerNorm(arena.stream[2 * config.depth], rows: n, gain: parameters.value("final_ln.gain"),
                  bias: parameters.value("final_ln.bias"), into: arena.finalLN, mean: arena.finalMean, rstd: arena.finalRstd)
        split.gemm(.none, .none, m: n, n: config.vocabulary, k: d, a: arena.finalLN, lda: d,
                   b: parameters.value("unembed"), ldb: config.vocabulary, beta: 0, c: arena.logits, ldc: config.vocabulary)
        return crossEntropy(rows: n)
    }

    /// Layer l's LayerNorm of its input stream and the Q, K, V projection of every row, into
    /// the layer's `qkv`: the first half of its attention step, shared by the fixed-context pass.
    func projectQKV(layer l: Int, rows n: Int) {
        let d = config.dModel, w = layerWeights[l], a = arena.layers[l]
        layerNorm(arena.stream[2 * l], rows: n, gain: w.ln1Gain, bias: w.ln1Bias, into: a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd)
        packQKV(w)
        split.gemm(.none, .none, m: n, n: 3 * d, k: d, a: a.ln1, lda: d, b: arena.packedWeights, ldb: 3 * d,
                   beta: 0, c: a.qkv, ldc: 3 * d)
    }

    /// Rows per block of `blockedHead`: a block's normalised rows and logits together take about
    /// 32 K floats, as the FFN's blocks (d = 64, 67 logits: 252 rows).
    var headRowBlock: Int { Self.defaultFFNRowBlock(ffnHidden: config.vocabulary + config.dModel) }

    /// Whether the head runs `blockedHead`: on Loom's own products, with every worker given at
    /// least one block (`TrainingFusion.headBlocks` off: three passes over all rows).
    func blocksHead(rows: Int) -> Bool {
        blocksRows && !split.usesOpenBLASProducts && !split.usesBLASThreads && !unfused.contains(.headBlocks)
            && rows >= threads * headRowBlock
    }

    /// `headStep` a block of rows at a time, each worker its own share of the rows: the final
    /// LayerNorm, the logits (the unembedding packed once) and the cross-entropy, so a block's
    /// normalised rows and logits are read back from L2, not memory, and the three passes need
    /// one parallel loop instead of three. Row by row the arithmetic is the unblocked passes', so
    /// the bits are too.
    func blockedHead(rows n: Int) -> Float {
        let d = config.dModel, v = config.vocabulary, block = headRowBlock
        // The packed weights and inputs are only read; each worker writes its own rows.
        nonisolated(unsafe) let products = RowBlockProduct.packed([(d, v, parameters.value("unembed"), v)], split: split, blocks: true)
        nonisolated(unsafe) let input = arena.stream[2 * config.depth], normed = arena.finalLN, logits = arena.logits
        nonisolated(unsafe) let gain = parameters.value("final_ln.gain"), bias = parameters.value("final_ln.bias")
        nonisolated(unsafe) let mean = arena.finalMean, rstd = arena.finalRstd
        lastTargets.withUnsafeBufferPointer { targets in
            let crossEntropy = crossEntropyRows(targets: targets.baseAddress!)
            split.rowBlocks(n, block: block, aligned: block) { r0, rows, worker in
                Kernels.layerNorm(input + r0 * d, rows: rows, columns: d, gamma: gain, beta: bias, epsilon: 1e-5,
                                  into: normed + r0 * d, mean: mean + r0, rstd: rstd + r0)
                products[0](rows: rows, a: normed + r0 * d, lda: d, beta: 0, c: logits + r0 * v, ldc: v, worker: worker)
                crossEntropy(r0..<(r0 + rows))
            }
        }
        return meanLoss(rows: n)
    }
}
