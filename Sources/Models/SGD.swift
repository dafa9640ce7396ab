/// SGD with momentum and (coupled, L2) weight decay, as PyTorch defines it:
/// `d = g + λ·w`, `b ← μ·b + d` (b = d on the first step), `w ← w − lr·b`.
public final class SGD: Optimizer {
    public let kind = "sgd"
    public var steps = 0
    public let momentum: Float, weightDecay: Float
    let buffer: UnsafeMutablePointer<Float>
    let count: Int

    public init(count: Int, momentum: Float = 0.9, weightDecay: Float = 0) {
        self.count = count
        self.momentum = momentum; self.weightDecay = weightDecay
        buffer = .allocate(capacity: max(1, count)); buffer.initialize(repeating: 0, count: max(1, count))
    }

    deinit { buffer.deallocate() }

    public var hyperparameters: [String: Double] { ["momentum": Double(momentum), "weight_decay": Double(weightDecay)] }

    public var state: [(name: String, values: UnsafeMutablePointer<Float>)] { [("momentum", buffer)] }

    public func update(_ parameters: ParameterStore, learningRate lr: Float) {
        precondition(parameters.count == count, "an optimiser serves one parameter arena")
        let first = steps == 0
        steps += 1
        let w = parameters.values, g = parameters.gradients
        for entry in parameters.entries {
            let decay = entry.decays ? weightDecay : 0
            for i in entry.offset..<(entry.offset + entry.count) {
                let d = g[i] + decay * w[i]
                buffer[i] = first ? d : momentum * buffer[i] + d
                w[i] -= lr * buffer[i]
            }
        }
    }
}
