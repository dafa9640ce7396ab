extension Transformer {
    /// dL/dp[t,l,c] of the last soft forward and backward, (tokens, layers, 2) with [big, small]
    /// innermost like `DuoMixture.weights`; zero for layers that are not duo layers. Empty unless
    /// the last forward pass was soft and `backward()` has run since.
    public var mixtureGradients: [Float] {
        guard let duo, duo.hasMixtureGradients, let batch = lastBatch else { return [] }
        let n = batch * config.context, depth = config.depth
        var gradients = [Float](repeating: 0, count: n * depth * 2)
        for l in 0..<depth where duo.counts[l][0] > 0 {
            for r in 0..<n {
                gradients[(r * depth + l) * 2] = duo.mixtureGradients[(l * n + r) * 2]
                gradients[(r * depth + l) * 2 + 1] = duo.mixtureGradients[(l * n + r) * 2 + 1]
            }
        }
        return gradients
    }

    /// Checks `mixture` against the model, `routes` and a batch of `tokens` tokens.
    func validateMixture(tokens: Int) throws(ModelError) {
        guard let mixture else { return }
        guard config.hasDuoLayers else {
            throw .input("a mixture was given but no layer of this model is a duo layer; set mixture to nil")
        }
        guard routes == nil else { throw .input("both routes and a mixture were given; set one of them to nil") }
        guard mixture.layers == config.depth else {
            throw .input("the mixture gives weights for \(mixture.layers) layer(s) but the model has \(config.depth); give one pair per layer")
        }
        if let weights = mixture.weights {
            guard mixture.tokens == tokens else {
                throw .input("the mixture covers \(mixture.tokens ?? 0) tokens but the batch has \(tokens) (batch × context)")
            }
            if let bad = weights.firstIndex(where: { !$0.isFinite }) {
                throw .input("mixture weight \(bad) (token \(bad / (2 * mixture.layers)), layer \(bad / 2 % mixture.layers)) is \(weights[bad]); give finite weights")
            }
        }
    }

    /// Fills layer `l`'s soft weights, (n, 2), from the mixture, and routes every row to both modules.
    func prepareMixture(_ mixture: DuoMixture, layer l: Int, rows n: Int) {
        guard let duo else { return }
        let weights = duo.mixtureWeights + l * n * 2, depth = config.depth
        if let fixed = mixture.weights {
            for r in 0..<n {
                weights[2 * r] = fixed[(r * depth + l) * 2]
                weights[2 * r + 1] = fixed[(r * depth + l) * 2 + 1]
            }
        } else if let weigh = mixture.weigh {
            weigh(l, UnsafeBufferPointer(start: arena.stream[2 * l + 1], count: n * config.dModel),
                  UnsafeMutableBufferPointer(start: weights, count: n * 2))
        }
        for module in duo.modules[l] {
            for r in 0..<n { module.rows[r] = r }
        }
        duo.isSoft = true
    }

    /// Soft backward for module `m` of layer `l` on its c packed rows (all rows, in order):
    /// dL/dp[r, m] = ⟨g[r]·W₂ᵀ, post[r]⟩ (= ⟨g[r], f_m[r]⟩ since f_m = post·W₂), then the rows of
    /// `duo.dPost` and `duo.packed` (g) are scaled by p[r, m], the module's share of the output.
    func weighModuleGradients(layer l: Int, module m: Int, hidden h: Int, rows c: Int) {
        guard let duo else { return }
        let d = config.dModel
        // Each worker reads and writes its own rows.
        nonisolated(unsafe) let weights = duo.mixtureWeights + l * c * 2, gradients = duo.mixtureGradients + l * c * 2
        nonisolated(unsafe) let post = duo.modules[l][m].post, dPost = duo.dPost, packed = duo.packed
        split.rows(c) { range, _ in
            for r in range {
                var dot: Float = 0
                for j in 0..<h { dot += dPost[r * h + j] * post[r * h + j] }
                gradients[2 * r + m] = dot
                let p = weights[2 * r + m]
                for j in 0..<h { dPost[r * h + j] *= p }
                for j in 0..<d { packed[r * d + j] *= p }
            }
        }
    }
}
