import TensorCore

extension Transformer {
    /// Records layer `l`'s attention tensors that `hooks` asks for, after its forward pass.
    /// - Parameter scores: the (B, H, T, T) scores the kernel wrote, or empty when not asked for.
    func captureAttention(layer l: Int, batch: Int, scores: [Float]) {
        let t = config.context, d = config.dModel, h = config.heads, dh = config.headDimension
        let a = arena.layers[l]
        var capture = hooks.captured[l] ?? .init()
        if hooks.captureScores {
            capture.scores = Tensor(unchecked: [batch, h, t, t], storage: scores)  // the kernel filled B·H·T·T
        }
        if hooks.captureWeights { capture.weights = tensor(a.weights, shape: [batch, h, t, t]) }
        if hooks.captureValues {
            var values = [Float](repeating: 0, count: batch * t * d)   // v is the last third of each [q | k | v] row
            for row in 0..<(batch * t) {
                for j in 0..<d { values[row * d + j] = a.qkv[row * 3 * d + 2 * d + j] }
            }
            capture.values = Tensor(unchecked: [batch, t, h, dh], storage: values)  // B·T·d floats
        }
        // Head h's share of a W_O product: its (T, dh) block times rows h·dh..<(h+1)·dh of W_O.
        func throughOutput(_ input: UnsafeMutablePointer<Float>, rowStride: Int) -> Tensor {
            var outputs = [Float](repeating: 0, count: batch * h * t * d)
            let wo = layerWeights[l].wo
            outputs.withUnsafeMutableBufferPointer { buffer in
                for b in 0..<batch {
                    for head in 0..<h {
                        BLAS.sgemm(.none, .none, m: t, n: d, k: dh, alpha: 1, a: input + b * t * rowStride + head * dh,
                                   lda: rowStride, b: wo + head * dh * d, ldb: d, beta: 0,
                                   c: buffer.baseAddress! + (b * h + head) * t * d, ldc: d)
                    }
                }
            }
            return Tensor(unchecked: [batch, h, t, d], storage: outputs)  // B·H·T·d floats
        }
        if hooks.captureHeadOutputs { capture.headOutputs = throughOutput(a.heads, rowStride: d) }
        if hooks.captureValueOutputs { capture.valueOutputs = throughOutput(a.qkv + 2 * d, rowStride: 3 * d) }
        hooks.captured[l] = capture
    }
}
