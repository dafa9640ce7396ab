/// Updates a model's parameters from their gradients. State (moments, momentum) lives in arrays
/// laid out like the parameter arena, so a checkpoint saves it per named parameter.
public protocol Optimizer: AnyObject {
    /// `adamw` or `sgd`: how checkpoints name it.
    var kind: String { get }
    /// Updates taken so far.
    var steps: Int { get set }
    /// The hyperparameters, for checkpoints and provenance.
    var hyperparameters: [String: Double] { get }
    /// Named state arrays, each `parameters.count` long (e.g. `m` and `v` for AdamW).
    var state: [(name: String, values: UnsafeMutablePointer<Float>)] { get }
    /// One update with learning rate `lr` (the schedule's value for this step).
    func update(_ parameters: ParameterStore, learningRate lr: Float)
}

/// Which optimiser, with its settings: what experiment files and `loom train` choose.
public enum OptimizerSettings: Sendable, Equatable, Codable {
    case adamw(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01)
    case sgd(momentum: Float = 0.9, weightDecay: Float = 0)

    /// Makes the optimiser for a parameter arena.
    public func make(for parameters: ParameterStore) -> any Optimizer {
        switch self {
        case let .adamw(beta1, beta2, epsilon, weightDecay):
            AdamW(count: parameters.count, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
        case let .sgd(momentum, weightDecay):
            SGD(count: parameters.count, momentum: momentum, weightDecay: weightDecay)
        }
    }

    /// Parses a name as given in a file or on the command line.
    /// - Throws: `ModelError.configuration` naming the known optimisers.
    public static func named(_ name: String, beta1: Float? = nil, beta2: Float? = nil, epsilon: Float? = nil,
                             momentum: Float? = nil, weightDecay: Float? = nil) throws(ModelError) -> OptimizerSettings {
        switch name.lowercased() {
        case "adamw", "adam":
            let settings = OptimizerSettings.adamw(beta1: beta1 ?? 0.9, beta2: beta2 ?? 0.999, epsilon: epsilon ?? 1e-8,
                                                   weightDecay: weightDecay ?? (name.lowercased() == "adam" ? 0 : 0.01))
            try settings.validate()
            return settings
        case "sgd":
            let settings = OptimizerSettings.sgd(momentum: momentum ?? 0.9, weightDecay: weightDecay ?? 0)
            try settings.validate()
            return settings
        default:
            throw .configuration("unknown optimizer '\(name)'; use adamw (or adam, AdamW without weight decay) or sgd")
        }
    }

    public func validate() throws(ModelError) {
        switch self {
        case let .adamw(beta1, beta2, epsilon, weightDecay):
            guard (0..<1).contains(beta1), (0..<1).contains(beta2) else { throw .configuration("AdamW betas must be in [0, 1) (got \(beta1), \(beta2))") }
            guard epsilon > 0 else { throw .configuration("AdamW epsilon must be positive (got \(epsilon))") }
            guard weightDecay >= 0 else { throw .configuration("weight decay must be ≥ 0 (got \(weightDecay))") }
        case let .sgd(momentum, weightDecay):
            guard (0..<1).contains(momentum) else { throw .configuration("SGD momentum must be in [0, 1) (got \(momentum))") }
            guard weightDecay >= 0 else { throw .configuration("weight decay must be ≥ 0 (got \(weightDecay))") }
        }
    }
}

/// Scales every gradient so their global L2 norm is at most `maxNorm`.
/// - Returns: the norm before clipping (a training metric).
@discardableResult
public func clipGradients(_ parameters: ParameterStore, maxNorm: Float) -> Float {
    var sum: Double = 0
    let g = parameters.gradients
    // Entry by entry: the arena's alignment padding is not a gradient.
    for entry in parameters.entries {
        var i = entry.offset
        let end = entry.offset + entry.count
        var partial = SIMD8<Float>.zero
        while i + 8 <= end {
            let x = load(g + i)
            partial += x * x
            i += 8
        }
        sum += Double(partial.sum())
        while i < end { sum += Double(g[i] * g[i]); i += 1 }
    }
    let norm = Float(sum.squareRoot())
    if maxNorm > 0 && norm > maxNorm {
        let factor = maxNorm / (norm + 1e-6)
        for entry in parameters.entries {
            for j in entry.offset..<(entry.offset + entry.count) { g[j] *= factor }
        }
    }
    return norm
}
