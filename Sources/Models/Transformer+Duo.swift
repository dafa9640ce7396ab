import TensorCore

/// How many rows of one duo layer took each route in the last forward pass.
public struct DuoRowCount: Sendable, Equatable {
    public var big: Int, small: Int, skip: Int
    public init(big: Int, small: Int, skip: Int) { self.big = big; self.small = small; self.skip = skip }
}

extension Transformer {
    /// Per layer, the rows of the last forward pass that took big, small and skip (all zero for
    /// layers that are not duo layers, or before the first forward). A soft pass (`mixture`)
    /// counts every row under both big and small, since both modules ran on it.
    public var duoRowCounts: [DuoRowCount] {
        guard let duo, !duo.counts.isEmpty else { return Array(repeating: .init(big: 0, small: 0, skip: 0), count: config.depth) }
        return duo.counts.map { DuoRowCount(big: $0[0], small: $0[1], skip: $0[2]) }
    }

    /// Matrix products the duo FFNs ran since the last forward began (2 per used module forward,
    /// 4 more per used module backward): a batch that skips everywhere runs none.
    public var duoFFNProducts: Int { duo?.products ?? 0 }

    /// Checks `routes` against the model and a batch of `tokens` tokens.
    func validateRoutes(tokens: Int) throws(ModelError) {
        guard let routes else { return }
        guard config.hasDuoLayers else {
            throw .input("routes were given but no layer of this model is a duo layer; set routes to nil")
        }
        guard routes.layers == config.depth else {
            throw .input("routes give \(routes.layers) choice(s) per token but the model has \(config.depth) layers; give one per layer")
        }
        guard routes.tokens == tokens else {
            throw .input("routes cover \(routes.tokens) tokens but the batch has \(tokens) (batch × context); give one route per token")
        }
    }

    /// Duo layer `l`: `output = middle + FFN_route(LN₂(middle))` row by row, where each module runs
    /// only on the rows routed to it (gathered, packed, scattered back) and skipped rows only copy;
    /// with a `mixture`, both modules run on every row and add their output weighted by p.
    /// `uniform`, when given, is every row's route (the staged pass); else the mixture or `routes` decide.
    func duoForward(layer l: Int, rows n: Int, uniform: DuoRoute? = nil) {
        guard let duo else { return }
        let d = config.dModel, depth = config.depth, w = layerWeights[l]
        let middle = arena.stream[2 * l + 1], output = arena.stream[2 * l + 2]
        copy(middle, to: output, count: n * d)
        let modules = duo.modules[l]
        var counts = [0, 0, 0]
        if let uniform {
            let route = Int(uniform.rawValue)
            if route < 2 { for r in 0..<n { modules[route].rows[r] = r } }
            counts[route] = n
        } else if let mixture {
            prepareMixture(mixture, layer: l, rows: n)
            counts = [n, n, 0]
        } else if let routes {
            routes.choices.withUnsafeBufferPointer { choices in
                for r in 0..<n {
                    let route = Int(choices[r * depth + l].rawValue)
                    if route < 2 { modules[route].rows[counts[route]] = r }
                    counts[route] += 1
                }
            }
        } else {
            for r in 0..<n { modules[0].rows[r] = r }
            counts[0] = n
        }
        duo.counts[l] = counts
        for (m, module) in modules.enumerated() where counts[m] > 0 {
            let c = counts[m], h = module.hidden, block = duoRowBlock(hidden: h, rows: c)
            // Every step is row by row (and a product's rows do not depend on how m is cut, nor
            // on whether B was packed ahead), so blocks of rows give the same bits as one pass.
            let products = RowBlockProduct.packed([(d, h, module.w1, h), (h, d, module.w2, d)], split: split, blocks: block < c)
            // Uniform routes take rows 0 ..< n in order: LayerNorm reads them in place.
            let inPlace = uniform != nil
            // A staged pass keeps only the output stream (no backward follows): every block of
            // every layer and module then works in one block of the backward's scratch (dPost
            // holds N × ffnHidden floats, the big module's), which stays in L2.
            let transient = inPlace && stagedStreams > 0
            for r0 in stride(from: 0, to: c, by: block) {
                let b = min(block, c - r0), rows = module.rows + r0
                let ln = transient ? arena.dNormed : module.ln + r0 * d, pre = transient ? arena.dPre : module.pre + r0 * h
                let post = transient ? arena.dPost : module.post + r0 * h
                let mean = transient ? arena.dStream : module.mean + r0, rstd = transient ? arena.dStream + b : module.rstd + r0
                let gathered = inPlace ? middle + r0 * d : duo.gathered + r0 * d
                if !inPlace { gatherRows(middle, rows: rows, count: b, into: gathered) }
                layerNorm(gathered, rows: b, gain: w.ln2Gain, bias: w.ln2Bias, into: ln, mean: mean, rstd: rstd)
                if fusesReLU {
                    products[0](rows: b, a: ln, lda: d, beta: 0, c: post, ldc: h, epilogue: .relu)
                } else {
                    products[0](rows: b, a: ln, lda: d, beta: 0, c: pre, ldc: h)
                    activate(pre, into: post, count: b * h)
                }
                if m == 0, let dropout = appliedInterventions.bigFFNDropout, dropout.rate > 0 {
                    applyDropout(dropout, layer: l, rows: rows, count: b, hidden: h, to: post)
                }
                if inPlace {
                    // Rows in order: the product adds into the output rows themselves (c + x, the
                    // sum the scatter would take).
                    products[1](rows: b, a: post, lda: h, beta: 1, c: output + r0 * d, ldc: d)
                } else {
                    products[1](rows: b, a: post, lda: h, beta: 0, c: duo.packed + r0 * d, ldc: d)
                    scatterAddRows(duo.packed + r0 * d, rows: rows, count: b, into: output,
                                   weights: duo.isSoft ? duo.mixtureWeights + l * n * 2 + m : nil)
                }
            }
            duo.products += 2
        }
    }

    /// Rows per block of a duo module's forward: on one thread, blocks whose hidden activations
    /// (before and after the activation, 2·rows·hidden floats) fit in 512 KiB, so the product that
    /// writes them, the activation and the product that reads them find them in L2 rather than
    /// going out to L3 (at d = 64 a big module's 1,024 × 256 activations are 2 MiB); several
    /// threads keep one pass, whose products they split among themselves.
    func duoRowBlock(hidden: Int, rows: Int) -> Int {
        threads == 1 && blocksRows ? max(16, (1 << 16) / hidden) : max(rows, 1)
    }

    /// The backward pass of `duoForward`: adds dL/d(middle) of each module's rows into
    /// `arena.dStream` (which already holds the residual's share) and writes the module's gradients.
    /// Hard routes' row sets are disjoint, so gathering one never sees another's scatter; soft
    /// routing (every row in both) reads dL/d(output) from a copy taken first, scales it by each
    /// row's weight, and writes dL/dp (see `weighModuleGradients`).
    func duoBackward(layer l: Int, rows n: Int) {
        guard let duo else { return }
        let d = config.dModel, w = layerWeights[l], middle = arena.stream[2 * l + 1], dStream = arena.dStream
        if duo.isSoft {
            copy(dStream, to: duo.outputGradient, count: n * d)
            duo.hasMixtureGradients = true
        }
        let outputGradient = duo.isSoft ? duo.outputGradient : dStream
        for (m, module) in duo.modules[l].enumerated() where duo.counts[l][m] > 0 {
            let c = duo.counts[l][m], h = module.hidden
            gatherRows(outputGradient, rows: module.rows, count: c, into: duo.packed)
            split.gemm(.none, .transposed, m: c, n: h, k: d, a: duo.packed, lda: d, b: module.w2, ldb: d, beta: 0, c: duo.dPost, ldc: h)
            // Mixture weights first: dL/dp = dPost·post needs dPost before the mask (post already has it).
            if duo.isSoft { weighModuleGradients(layer: l, module: m, hidden: h, rows: c) }
            if m == 0, let dropout = appliedInterventions.bigFFNDropout, dropout.rate > 0 {
                applyDropout(dropout, layer: l, rows: module.rows, count: c, hidden: h, to: duo.dPost)
            }
            split.gemm(.transposed, .none, m: h, n: d, k: c, a: module.post, lda: h, b: duo.packed, ldb: d, beta: 0, c: module.dw2, ldc: d)
            activationBackward(duo.dPost, input: fusesReLU ? module.post : module.pre, into: duo.dPre, count: c * h)
            split.gemm(.transposed, .none, m: d, n: h, k: c, a: module.ln, lda: d, b: duo.dPre, ldb: h, beta: 0, c: module.dw1, ldc: h)
            split.gemm(.none, .transposed, m: c, n: d, k: h, a: duo.dPre, lda: h, b: module.w1, ldb: h, beta: 0, c: arena.dNormed, ldc: d)
            gatherRows(middle, rows: module.rows, count: c, into: duo.gathered)
            duo.packedInputGradient.update(repeating: 0, count: c * d)
            layerNormBackward(arena.dNormed, input: duo.gathered, gain: w.ln2Gain, mean: module.mean, rstd: module.rstd, rows: c,
                              gainGradient: w.dLn2Gain, biasGradient: w.dLn2Bias, inputGradient: duo.packedInputGradient)
            scatterAddRows(duo.packedInputGradient, rows: module.rows, count: c, into: dStream)
            duo.products += 4
        }
    }

    /// `packed[i] = source[rows[i]]` for i < count, rows of d.
    private func gatherRows(_ source: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Int>, count: Int,
                            into packed: UnsafeMutablePointer<Float>) {
        let d = config.dModel
        nonisolated(unsafe) let source = source, rows = rows, packed = packed  // disjoint packed rows per worker
        split.rows(count) { range, _ in
            for i in range { (packed + i * d).update(from: source + rows[i] * d, count: d) }
        }
    }

    /// `target[rows[i]] += packed[i]` for i < count, or `+= weights[2·rows[i]]·packed[i]` when
    /// soft weights (stride 2) are given; the rows are distinct, so workers never collide.
    private func scatterAddRows(_ packed: UnsafeMutablePointer<Float>, rows: UnsafeMutablePointer<Int>, count: Int,
                                into target: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>? = nil) {
        let d = config.dModel
        nonisolated(unsafe) let target = target, rows = rows, packed = packed, weights = weights
        split.rows(count) { range, _ in
            for i in range {
                let out = target + rows[i] * d, row = packed + i * d
                if let weights {
                    let p = weights[2 * rows[i]]
                    for j in 0..<d { out[j] += p * row[j] }
                } else {
                    for j in 0..<d { out[j] += row[j] }
                }
            }
        }
    }
}
