/// Every activation a training step keeps, and the backward pass's scratch, in one allocation
/// made when the model is built (llm.c's single `malloc`): a step allocates nothing.
///
/// N = maxBatch·T rows; buffers hold the first batch·T rows of a smaller batch.
/// `@unchecked Sendable`: the arena owns its memory until `deinit`, and each kernel writes
/// disjoint rows or (batch, head) blocks of it.
final class TrainingArena: @unchecked Sendable {
    /// One layer's saved activations (pointers into the arena).
    struct Layer: @unchecked Sendable {
        /// LayerNorm 1 output, (N, d); its row mean and 1/std, (N).
        var ln1: UnsafeMutablePointer<Float>, ln1Mean: UnsafeMutablePointer<Float>, ln1Rstd: UnsafeMutablePointer<Float>
        /// Queries, keys and values side by side, (N, 3d): row n is [q | k | v], each (H, dh) with
        /// dh contiguous, so one product with the packed [W_Q | W_K | W_V] fills all three.
        var qkv: UnsafeMutablePointer<Float>
        /// Attention weights, (B, H, T, T), zero above the diagonal.
        var weights: UnsafeMutablePointer<Float>
        /// Heads' outputs before W_O, concatenated: (N, d) = (B, T, H, dh).
        var heads: UnsafeMutablePointer<Float>
        /// LayerNorm 2 output, (N, d); row mean and 1/std, (N).
        var ln2: UnsafeMutablePointer<Float>, ln2Mean: UnsafeMutablePointer<Float>, ln2Rstd: UnsafeMutablePointer<Float>
        /// FFN hidden layer before and after the activation, (N, hidden).
        var preActivation: UnsafeMutablePointer<Float>, postActivation: UnsafeMutablePointer<Float>
    }

    /// The residual stream at 2L + 1 points, each (N, d): `stream[2ℓ]` enters layer ℓ,
    /// `stream[2ℓ + 1]` follows its attention add, `stream[2ℓ + 2]` its FFN add.
    let stream: [UnsafeMutablePointer<Float>]
    let layers: [Layer]
    /// Final LayerNorm output (N, d), row mean and 1/std (N).
    let finalLN: UnsafeMutablePointer<Float>, finalMean: UnsafeMutablePointer<Float>, finalRstd: UnsafeMutablePointer<Float>
    /// Logits (N, V).
    let logits: UnsafeMutablePointer<Float>
    /// Per-position losses (N); 0 where the target is ignored.
    let losses: UnsafeMutablePointer<Float>

    // Backward scratch, reused by every layer.
    /// dL/d(residual stream) at the current point, (N, d).
    let dStream: UnsafeMutablePointer<Float>
    /// Gradient entering a LayerNorm's output, (N, d); also dL/d(heads before W_O).
    let dNormed: UnsafeMutablePointer<Float>, dHeads: UnsafeMutablePointer<Float>
    /// dL/d[q | k | v], (N, 3d), laid out like `Layer.qkv`.
    let dqkv: UnsafeMutablePointer<Float>
    /// [W_Q | W_K | W_V] of the layer at hand, (d, 3d), and its gradient: the parameters stay
    /// three named tensors, packed per use (3d² floats, nothing next to the products).
    let packedWeights: UnsafeMutablePointer<Float>, packedGradient: UnsafeMutablePointer<Float>
    /// dL/d(FFN hidden) after and before the activation, (N, hidden).
    let dPost: UnsafeMutablePointer<Float>, dPre: UnsafeMutablePointer<Float>
    /// dL/dlogits, (N, V), written by the forward pass with the loss.
    let dLogits: UnsafeMutablePointer<Float>
    /// One (T, T) tile per worker for dP and dS.
    let tiles: UnsafeMutablePointer<Float>
    /// One (2, d) slot per block of `WorkSplit.reductionBlock` rows for LayerNorm gain and bias
    /// gradients, summed in block order after the rows.
    let normScratch: UnsafeMutablePointer<Float>

    private let base: UnsafeMutablePointer<Float>

    init(config: ModelConfig, maxBatch: Int, threads: Int) {
        let n = maxBatch * config.context, d = config.dModel, t = config.context
        let hidden = config.ffnHidden, v = config.vocabulary, depth = config.depth
        var sizes: [Int] = []
        func take(_ count: Int) -> Int { sizes.append((count + 15) / 16 * 16); return sizes.count - 1 }
        let streamSlots = (0...(2 * depth)).map { _ in take(n * d) }
        var layerSlots: [[Int]] = []
        for layer in config.layers {
            let attention = layer.attention != .none, mlp = layer.ffn == .mlp && !layer.duo, ffn = layer.ffn != .none
            layerSlots.append([
                take(attention ? n * d : 0), take(attention ? n : 0), take(attention ? n : 0),
                take(attention ? 3 * n * d : 0),
                take(attention ? maxBatch * config.heads * t * t : 0), take(attention ? n * d : 0),
                take(ffn ? n * d : 0), take(ffn ? n : 0), take(ffn ? n : 0),
                take(mlp ? n * hidden : 0), take(mlp ? n * hidden : 0),
            ])
        }
        let finalSlots = [take(n * d), take(n), take(n), take(n * v), take(n)]
        let scratchSlots = [take(n * d), take(n * d), take(n * d), take(3 * n * d), take(3 * d * d), take(3 * d * d),
                            take(n * hidden), take(n * hidden), take(n * v), take(threads * t * t),
                            take(WorkSplit.reductionBlocks(n) * 2 * d)]
        var offsets: [Int] = [], total = 0
        for size in sizes { offsets.append(total); total += size }
        base = .allocateLines(max(total, 16))   // every slot on a line of its own
        base.initialize(repeating: 0, count: max(total, 16))
        let base = self.base
        func at(_ slot: Int) -> UnsafeMutablePointer<Float> { base + offsets[slot] }

        stream = streamSlots.map(at)
        layers = layerSlots.map { s in
            Layer(ln1: at(s[0]), ln1Mean: at(s[1]), ln1Rstd: at(s[2]), qkv: at(s[3]),
                  weights: at(s[4]), heads: at(s[5]), ln2: at(s[6]), ln2Mean: at(s[7]), ln2Rstd: at(s[8]),
                  preActivation: at(s[9]), postActivation: at(s[10]))
        }
        finalLN = at(finalSlots[0]); finalMean = at(finalSlots[1]); finalRstd = at(finalSlots[2])
        logits = at(finalSlots[3]); losses = at(finalSlots[4])
        dStream = at(scratchSlots[0]); dNormed = at(scratchSlots[1]); dHeads = at(scratchSlots[2])
        dqkv = at(scratchSlots[3]); packedWeights = at(scratchSlots[4]); packedGradient = at(scratchSlots[5])
        dPost = at(scratchSlots[6]); dPre = at(scratchSlots[7]); dLogits = at(scratchSlots[8])
        tiles = at(scratchSlots[9]); normScratch = at(scratchSlots[10])
    }

    deinit { base.deallocate() }
}
