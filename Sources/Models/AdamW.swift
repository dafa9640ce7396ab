import Foundation
import TensorCore

/// AdamW as PyTorch defines it (Loshchilov & Hutter): decoupled weight decay `w ← w·(1 − lr·λ)`
/// on the parameters that decay, then `w ← w − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)`.
public final class AdamW: Optimizer {
    public let kind = "adamw"
    public var steps = 0
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    let m: UnsafeMutablePointer<Float>
    let v: UnsafeMutablePointer<Float>
    let count: Int

    public init(count: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.count = count
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon; self.weightDecay = weightDecay
        m = .allocate(capacity: max(1, count)); m.initialize(repeating: 0, count: max(1, count))
        v = .allocate(capacity: max(1, count)); v.initialize(repeating: 0, count: max(1, count))
    }

    deinit { m.deallocate(); v.deallocate() }

    public var hyperparameters: [String: Double] {
        ["beta1": Double(beta1), "beta2": Double(beta2), "epsilon": Double(epsilon), "weight_decay": Double(weightDecay)]
    }

    public var state: [(name: String, values: UnsafeMutablePointer<Float>)] { [("m", m), ("v", v)] }

    /// Workers for `update` (the trainer sets its model's): every element's arithmetic is its
    /// own, so the bits do not depend on it.
    public var threads = 1

    /// Elements per piece of `update`'s work: a multiple of 8, so each piece starts a SIMD8
    /// body where the whole entry's would, and only an entry's last piece has a scalar tail.
    static let piece = 16_384

    public func update(_ parameters: ParameterStore, learningRate lr: Float) {
        precondition(parameters.count == count, "an optimiser serves one parameter arena")
        steps += 1
        let t = Float(steps)
        let stepSize = lr / (1 - powf(beta1, t))
        let correction2 = (1 - powf(beta2, t)).squareRoot()
        var pieces: [(start: Int, end: Int, decay: Float)] = []
        for entry in parameters.entries {
            let decay: Float = entry.decays ? 1 - lr * weightDecay : 1
            let end = entry.offset + entry.count
            for start in stride(from: entry.offset, to: end, by: Self.piece) { pieces.append((start, min(end, start + Self.piece), decay)) }
        }
        let work = pieces
        nonisolated(unsafe) let w = parameters.values, g = parameters.gradients, m = self.m, v = self.v
        let beta1 = self.beta1, beta2 = self.beta2, epsilon = self.epsilon
        Parallel.forEach(pieces.count, threads: threads, setup: { _ in () }) { index, _ in
            let (start, end, decay) = work[index]
            var i = start
            // SIMD8 over the body; the same arithmetic, element by element, on the tail.
            let b1 = SIMD8<Float>(repeating: beta1), b2 = SIMD8<Float>(repeating: beta2)
            let c1 = SIMD8<Float>(repeating: 1 - beta1), c2 = SIMD8<Float>(repeating: 1 - beta2)
            while i + 8 <= end {
                let gi = load(g + i)
                let mi = b1 * load(m + i) + c1 * gi
                let vi = b2 * load(v + i) + c2 * gi * gi
                store(mi, m + i)
                store(vi, v + i)
                let denominator = vi.squareRoot() / correction2 + epsilon
                store(load(w + i) * decay - stepSize * mi / denominator, w + i)
                i += 8
            }
            while i < end {
                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                w[i] = w[i] * decay - stepSize * m[i] / (v[i].squareRoot() / correction2 + epsilon)
                i += 1
            }
        }
    }
}

@inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always) func store(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: x, as: SIMD8<Float>.self)
}
