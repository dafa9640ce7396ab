import TensorCore

extension Transformer {
    /// Writes the gradient of the last forward pass's mean loss into `parameters.gradients`
    /// (overwriting them), through the same interventions.
    ///
    /// - Precondition: `forward` has run since the model was built.
    /// - Complexity: about twice the forward pass.
    public func backward() {
        guard let batch = lastBatch else { preconditionFailure("Transformer.backward() needs a forward() first") }
        // A staged pass leaves no attention weights or activations behind (blockedAttention).
        precondition(stagedStreams == 0, "Transformer.backward() needs a forward() first; a staged pass has no backward")
        pass { runBackward(batch: batch) }
    }

    private func runBackward(batch: Int) {
        let t = config.context, d = config.dModel, n = batch * t, v = config.vocabulary
        parameters.zeroGradients()
        // dL/dlogits: written by the forward pass's cross-entropy (`crossEntropy`), or its softmax.
        if logitsHoldSoftmax { logitGradients(rows: n) }
        split.gemm(.transposed, .none, m: d, n: v, k: n, a: arena.finalLN, lda: d, b: arena.dLogits, ldb: v,
                   beta: 0, c: parameters.gradient("unembed"), ldc: v)
        // Each LayerNorm's backward runs on the rows of dL/d(its output) as the product forming
        // them finishes them, while they are in cache (`WorkSplit.gemm`'s `rowsDone`).
        // dL/dstream starts as the final LayerNorm's input gradient: its rows are zeroed by the
        // workers that write them, not all at once beforehand on one thread.
        let finalNorm = layerNormBackwardRows(arena.dNormed, input: arena.stream[2 * config.depth], gain: parameters.value("final_ln.gain"),
                                              mean: arena.finalMean, rstd: arena.finalRstd, rows: n, zeroingFirst: true)
        split.gemm(.none, .transposed, m: n, n: d, k: v, a: arena.dLogits, lda: v, b: parameters.value("unembed"), ldb: v,
                   beta: 0, c: arena.dNormed, ldc: d, rowsDone: finalNorm)
        layerNormBackwardSums(rows: n, gainGradient: parameters.gradient("final_ln.gain"), biasGradient: parameters.gradient("final_ln.bias"))
        phases?.mark(.headBackward)
        let dStream = arena.dStream, dNormed = arena.dNormed
        for (l, layer) in config.layers.enumerated().reversed() {
            if appliedInterventions.zeroedFirstResiduals.contains(l) {
                for b in 0..<batch { (dStream + b * t * d).update(repeating: 0, count: d) }
            }
            if appliedInterventions.removedLayers.contains(l) { continue }
            let w = layerWeights[l], a = arena.layers[l]
            if layer.ffn != .none && !appliedInterventions.removedFFNs.contains(l) && layer.duo {
                duoBackward(layer: l, rows: n)
            } else if layer.ffn == .mlp && !appliedInterventions.removedFFNs.contains(l) && blocksFFN(rows: n) {
                blockedFFNBackward(layer: l, rows: n)
            } else if layer.ffn != .none && !appliedInterventions.removedFFNs.contains(l) {
                let norm = layerNormBackwardRows(dNormed, input: arena.stream[2 * l + 1], gain: w.ln2Gain, mean: a.ln2Mean, rstd: a.ln2Rstd, rows: n)
                if layer.ffn == .mlp {
                    let hidden = config.ffnHidden
                    if fusesReLU && !unfused.contains(.reluMask) {
                        // dPre = dPost where the activation is > 0: the ReLU's backward in the epilogue.
                        split.gemm(.none, .transposed, m: n, n: hidden, k: d, a: dStream, lda: d, b: w.w2, ldb: d,
                                   beta: 0, c: arena.dPre, ldc: hidden, epilogue: .positiveIn(.init(a.postActivation, ld: hidden)))
                    } else if fusesReLU {
                        split.gemm(.none, .transposed, m: n, n: hidden, k: d, a: dStream, lda: d, b: w.w2, ldb: d,
                                   beta: 0, c: arena.dPost, ldc: hidden)
                        activationBackward(arena.dPost, input: a.postActivation, into: arena.dPre, count: n * hidden)
                    } else {
                        // GELU's backward on each group of rows of dPost as the product finishes it.
                        nonisolated(unsafe) let dPost = arena.dPost, dPre = arena.dPre, pre = a.preActivation
                        split.gemm(.none, .transposed, m: n, n: hidden, k: d, a: dStream, lda: d, b: w.w2, ldb: d,
                                   beta: 0, c: arena.dPost, ldc: hidden, rowsDone: { rows, _ in
                            let start = rows.lowerBound * hidden, count = rows.count * hidden
                            (dPre + start).update(repeating: 0, count: count)   // the kernel accumulates
                            Kernels.geluBackward(outputGradient: dPost + start, input: pre + start, count: count, inputGradient: dPre + start)
                        })
                    }
                    split.gemm(.transposed, .none, m: hidden, n: d, k: n, a: a.postActivation, lda: hidden, b: dStream, ldb: d,
                               beta: 0, c: w.dw2, ldc: d)
                    split.gemm(.transposed, .none, m: d, n: hidden, k: n, a: a.ln2, lda: d, b: arena.dPre, ldb: hidden,
                               beta: 0, c: w.dw1, ldc: hidden)
                    split.gemm(.none, .transposed, m: n, n: d, k: hidden, a: arena.dPre, lda: hidden, b: w.w1, ldb: hidden,
                               beta: 0, c: dNormed, ldc: d, rowsDone: norm)
                } else {
                    split.gemm(.transposed, .none, m: d, n: d, k: n, a: a.ln2, lda: d, b: dStream, ldb: d, beta: 0, c: w.dw1, ldc: d)
                    split.gemm(.none, .transposed, m: n, n: d, k: d, a: dStream, lda: d, b: w.w1, ldb: d, beta: 0, c: dNormed, ldc: d,
                               rowsDone: norm)
                }
                layerNormBackwardSums(rows: n, gainGradient: w.dLn2Gain, biasGradient: w.dLn2Bias)
            }
            phases?.mark(.ffnBackward)
            if layer.attention != .none && blocksAttention(layer: l, batch: batch) {
                blockedAttentionBackward(layer: l, batch: batch)
                phases?.mark(.attentionBackward)   // block by block: W_O, attention and q|k|v
            } else if layer.attention != .none {
                split.gemm(.transposed, .none, m: d, n: d, k: n, a: a.heads, lda: d, b: dStream, ldb: d, beta: 0, c: w.dwo, ldc: d)
                split.gemm(.none, .transposed, m: n, n: d, k: d, a: dStream, lda: d, b: w.wo, ldb: d, beta: 0, c: arena.dHeads, ldc: d)
                phases?.mark(.attentionOutputBackward)
                let kernel = attentionKernel(layer: l, batch: batch)
                itemPass {
                    kernel.backward(threads: threads, outputGradient: arena.dHeads, dqkv: arena.dqkv, tiles: arena.tiles)
                }
                phases?.mark(.attentionBackward)
                if appliedInterventions.zeroedFirstValues.contains(l) {
                    for b in 0..<batch { (arena.dqkv + b * t * 3 * d + 2 * d).update(repeating: 0, count: d) }
                }
                // One product each for [dW_Q | dW_K | dW_V] = LN₁ᵀ·d[q | k | v] and dLN₁ = d[q | k | v]·[W_Q | W_K | W_V]ᵀ.
                packQKV(w)
                split.gemm(.transposed, .none, m: d, n: 3 * d, k: n, a: a.ln1, lda: d, b: arena.dqkv, ldb: 3 * d,
                           beta: 0, c: arena.packedGradient, ldc: 3 * d)
                let norm = layerNormBackwardRows(dNormed, input: arena.stream[2 * l], gain: w.ln1Gain, mean: a.ln1Mean, rstd: a.ln1Rstd, rows: n)
                split.gemm(.none, .transposed, m: n, n: d, k: 3 * d, a: arena.dqkv, lda: 3 * d, b: arena.packedWeights, ldb: 3 * d,
                           beta: 0, c: dNormed, ldc: d, rowsDone: norm)
                layerNormBackwardSums(rows: n, gainGradient: w.dLn1Gain, biasGradient: w.dLn1Bias)
                phases?.mark(.attentionInputBackward)
                unpackQKVGradient(w)
            }
        }
        embeddingGradients(rows: n)
        phases?.mark(.embeddingBackward)
    }

    /// The attention half's backward with its row passes block by block, each worker its share
    /// of the sequences (`blockedAttention`'s blocks): dL/dheads = dY·W_Oᵀ, the attention items'
    /// backward into d[q | k | v], then dL/dLN₁ = d[q | k | v]·[W_Q | W_K | W_V]ᵀ and LayerNorm 1's
    /// backward, while the block is in L2. The weight gradients stay whole products cut by
    /// columns: dW_O = headsᵀ·dY before the blocks (which add LayerNorm 1's backward into dY),
    /// [dW_Q | dW_K | dW_V] = LN₁ᵀ·d[q | k | v] after them. Row by row and item by item the
    /// arithmetic is the unblocked pass's, and pieces start on LayerNorm's 64-row sum blocks, so
    /// the bits are too.
    private func blockedAttentionBackward(layer l: Int, batch: Int) {
        let t = config.context, d = config.dModel, heads = config.heads, n = batch * t
        let w = layerWeights[l], a = arena.layers[l]
        split.gemm(.transposed, .none, m: d, n: d, k: n, a: a.heads, lda: d, b: arena.dStream, ldb: d, beta: 0, c: w.dwo, ldc: d)
        packQKV(w)
        let norm = layerNormBackwardRows(arena.dNormed, input: arena.stream[2 * l], gain: w.ln1Gain, mean: a.ln1Mean,
                                         rstd: a.ln1Rstd, rows: n)
        // The packed weights and inputs are only read; each worker writes its own rows and items.
        nonisolated(unsafe) let products = RowBlockProduct.packed([(d, d, w.wo, d), (3 * d, d, arena.packedWeights, 3 * d)],
                                                                  split: split, blocks: true, transB: .transposed)
        nonisolated(unsafe) let dY = arena.dStream, dHeads = arena.dHeads, dqkv = arena.dqkv, dNormed = arena.dNormed
        nonisolated(unsafe) let tiles = arena.tiles
        let kernel = attentionKernel(layer: l, batch: batch), split = split
        let block = attentionSequenceBlock, zeroesFirstValues = appliedInterventions.zeroedFirstValues.contains(l)
        // Sequences per piece in multiples that start on a 64-row block of LayerNorm's sums.
        var aligned = 1
        while aligned * t % WorkSplit.reductionBlock != 0 && aligned < WorkSplit.reductionBlock { aligned *= 2 }
        split.rows(batch, aligned: Self.wholeBlocks(aligned, block, of: batch), balanced: true, grain: block) { sequences, worker in
            let scratch = AttentionKernel.Scratch(gemm: split.workspaces[worker], pack: split.packs[worker])
            let tile = tiles + worker * t * t
            for b0 in stride(from: sequences.lowerBound, to: sequences.upperBound, by: block) {
                let b1 = min(sequences.upperBound, b0 + block), r0 = b0 * t, rows = (b1 - b0) * t
                products[0](rows: rows, a: dY + r0 * d, lda: d, beta: 0, c: dHeads + r0 * d, ldc: d, worker: worker)
                let items = {
                    for b in b0..<b1 {
                        for h in 0..<heads {
                            kernel.backward(batch: b, head: h, dO: dHeads, dq: dqkv, dk: dqkv + d, dv: dqkv + 2 * d, tile: tile, scratch: scratch)
                        }
                    }
                }
                if split.usesBLASThreads { BLASThreading.singleThreaded(items) } else { items() }
                if zeroesFirstValues {
                    for b in b0..<b1 { (dqkv + b * t * 3 * d + 2 * d).update(repeating: 0, count: d) }
                }
                products[1](rows: rows, a: dqkv + r0 * 3 * d, lda: 3 * d, beta: 0, c: dNormed + r0 * d, ldc: d, worker: worker)
                norm(r0..<(r0 + rows), worker)
            }
        }
        split.gemm(.transposed, .none, m: d, n: 3 * d, k: n, a: a.ln1, lda: d, b: arena.dqkv, ldb: 3 * d,
                   beta: 0, c: arena.packedGradient, ldc: 3 * d)
        layerNormBackwardSums(rows: n, gainGradient: w.dLn1Gain, biasGradient: w.dLn1Bias)
        unpackQKVGradient(w)
    }

    /// An MLP layer's backward with its row passes block by block, each worker its share of the
    /// rows (`blockedFFN`'s blocks): dPre = dY·W₂ᵀ through the ReLU mask or GELU's backward, then
    /// dL/dLN₂ = dPre·W₁ᵀ and LayerNorm 2's backward on the block while it is in L2. The weight
    /// gradients sum over all rows and stay whole products cut by columns: dW₂ = postᵀ·dY before
    /// the blocks (which add LayerNorm 2's backward into dY), dW₁ = LN₂ᵀ·dPre after them. Row by
    /// row the arithmetic is the unblocked pass's, and each 64-row block of LayerNorm's sums stays
    /// on one worker in order (pieces start on those blocks), so the bits are too.
    private func blockedFFNBackward(layer l: Int, rows n: Int) {
        let d = config.dModel, hidden = config.ffnHidden
        let w = layerWeights[l], a = arena.layers[l]
        split.gemm(.transposed, .none, m: hidden, n: d, k: n, a: a.postActivation, lda: hidden, b: arena.dStream, ldb: d,
                   beta: 0, c: w.dw2, ldc: d)
        let norm = layerNormBackwardRows(arena.dNormed, input: arena.stream[2 * l + 1], gain: w.ln2Gain, mean: a.ln2Mean,
                                         rstd: a.ln2Rstd, rows: n)
        // The packed weights and inputs are only read; each worker writes its own rows.
        nonisolated(unsafe) let products = RowBlockProduct.packed([(d, hidden, w.w2, d), (hidden, d, w.w1, hidden)],
                                                                  split: split, blocks: true, transB: .transposed)
        nonisolated(unsafe) let dY = arena.dStream, post = a.postActivation, pre = a.preActivation
        nonisolated(unsafe) let dPost = arena.dPost, dPre = arena.dPre, dNormed = arena.dNormed
        let relu = fusesReLU, block = ffnRowBlock
        split.rowBlocks(n, block: block, aligned: WorkSplit.reductionBlock) { r0, rows, worker in
            let start = r0 * hidden, count = rows * hidden
            if relu {
                products[0](rows: rows, a: dY + r0 * d, lda: d, beta: 0, c: dPre + start, ldc: hidden,
                            epilogue: .positiveIn(.init(post + start, ld: hidden)), worker: worker)
            } else {
                products[0](rows: rows, a: dY + r0 * d, lda: d, beta: 0, c: dPost + start, ldc: hidden, worker: worker)
                (dPre + start).update(repeating: 0, count: count)   // the kernel accumulates
                Kernels.geluBackward(outputGradient: dPost + start, input: pre + start, count: count, inputGradient: dPre + start)
            }
            products[1](rows: rows, a: dPre + start, lda: hidden, beta: 0, c: dNormed + r0 * d, ldc: d, worker: worker)
            norm(r0..<(r0 + rows), worker)
        }
        split.gemm(.transposed, .none, m: d, n: hidden, k: n, a: a.ln2, lda: d, b: arena.dPre, ldb: hidden,
                   beta: 0, c: w.dw1, ldc: hidden)
        layerNormBackwardSums(rows: n, gainGradient: w.dLn2Gain, biasGradient: w.dLn2Bias)
    }

    /// The logits' softmax left in `arena.dLogits` turned into dL/dlogits in place:
    /// `(softmax − onehot(target)) / targets`, the same operations as `crossEntropy`'s.
    private func logitGradients(rows n: Int) {
        let v = config.vocabulary
        let inverse: Float = lastTargetCount > 0 ? 1 / Float(lastTargetCount) : 0
        nonisolated(unsafe) let gradients = arena.dLogits  // disjoint rows per worker
        lastTargets.withUnsafeBufferPointer { targets in
            nonisolated(unsafe) let targets = targets.baseAddress!
            split.rows(n) { range, _ in
                for r in range {
                    let target = Int(targets[r])
                    guard target >= 0 else { continue }       // already zero
                    Self.scale(gradients + r * v, count: v, by: inverse)
                    gradients[r * v + target] -= inverse
                }
            }
        }
    }

    /// dL/dx of the FFN nonlinearity into `output` (overwritten).
    func activationBackward(_ outputGradient: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>,
                                    into inputGradient: UnsafeMutablePointer<Float>, count: Int) {
        nonisolated(unsafe) let dy = outputGradient, x = input, dx = inputGradient  // disjoint ranges per worker
        let isGELU = config.activation == .gelu
        split.rows((count + 15) / 16) { blocks, _ in
            let start = blocks.lowerBound * 16, length = min(blocks.upperBound * 16, count) - start
            if isGELU {
                (dx + start).update(repeating: 0, count: length)   // the kernel accumulates
                Kernels.geluBackward(outputGradient: dy + start, input: x + start, count: length, inputGradient: dx + start)
            } else {
                Kernels.reluBackward(outputGradient: dy + start, input: x + start, count: length, inputGradient: dx + start,
                                     accumulating: false)
            }
        }
    }

    /// Adds LayerNorm's input gradient into `arena.dStream` and its gain and bias gradients into
    /// the parameters; each block of `WorkSplit.reductionBlock` rows is summed in its own slot
    /// first, then the blocks in order (the same bits on any number of threads).
    func layerNormBackward(_ outputGradient: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>,
                           gain: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                           rstd: UnsafeMutablePointer<Float>, rows: Int,
                           gainGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>,
                           inputGradient: UnsafeMutablePointer<Float>? = nil) {
        split.rows(rows, aligned: WorkSplit.reductionBlock,
                   layerNormBackwardRows(outputGradient, input: input, gain: gain, mean: mean, rstd: rstd, rows: rows,
                                         inputGradient: inputGradient))
        layerNormBackwardSums(rows: rows, gainGradient: gainGradient, biasGradient: biasGradient)
    }

    /// `layerNormBackward` in two halves, so the rows can run inside the product that forms
    /// dL/d(output) (`WorkSplit.gemm`'s `rowsDone`): this zeroes the block slots of `rows` rows
    /// and returns the body for a range of them; `layerNormBackwardSums` adds the slots into the
    /// gradients. The ranges must keep each block of `WorkSplit.reductionBlock` rows on one
    /// worker, in order (`WorkSplit.rows(aligned:)`); a block split over several calls is the
    /// same chain of sums, since the kernel adds row by row into its slot. With `zeroingFirst`,
    /// each range's rows of the input gradient are zeroed just before they are added into.
    func layerNormBackwardRows(_ outputGradient: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>,
                               gain: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                               rstd: UnsafeMutablePointer<Float>, rows: Int,
                               inputGradient: UnsafeMutablePointer<Float>? = nil, zeroingFirst: Bool = false) -> @Sendable (Range<Int>, Int) -> Void {
        let d = config.dModel, block = WorkSplit.reductionBlock
        arena.normScratch.update(repeating: 0, count: WorkSplit.reductionBlocks(rows) * 2 * d)
        // Each piece reads shared inputs and writes its own rows of dStream and its blocks' slots.
        nonisolated(unsafe) let dy = outputGradient, x = input, gain = gain, mean = mean, rstd = rstd
        nonisolated(unsafe) let dx = inputGradient ?? arena.dStream, scratch = arena.normScratch
        return { range, _ in
            var r = range.lowerBound
            while r < range.upperBound {
                let slot = scratch + r / block * 2 * d, end = min(range.upperBound, (r / block + 1) * block)
                if zeroingFirst { (dx + r * d).update(repeating: 0, count: (end - r) * d) }
                Kernels.layerNormBackward(outputGradient: dy + r * d, input: x + r * d, gamma: gain, mean: mean + r, rstd: rstd + r,
                                          rows: end - r, columns: d, inputGradient: dx + r * d,
                                          gammaGradient: slot, betaGradient: slot + d)
                r = end
            }
        }
    }

    /// Adds the block slots of the last `layerNormBackwardRows` (over `rows` rows) into the
    /// gradients, in block order.
    func layerNormBackwardSums(rows: Int, gainGradient: UnsafeMutablePointer<Float>, biasGradient: UnsafeMutablePointer<Float>) {
        let d = config.dModel, slots = arena.normScratch
        for block in 0..<WorkSplit.reductionBlocks(rows) {
            for j in 0..<d {
                gainGradient[j] += slots[block * 2 * d + j]
                biasGradient[j] += slots[block * 2 * d + d + j]
            }
        }
    }
}
