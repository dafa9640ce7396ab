/// What the trainer needs of a model: its parameters, a forward pass with the loss, and a
/// backward pass into the parameter gradients. `Transformer` is the one Loom trains.
public protocol TrainableModel: AnyObject {
    var config: ModelConfig { get }
    var parameters: ParameterStore { get }
    /// Mean cross-entropy over the targets ≥ 0 of a batch; per-position losses if asked.
    func forward(tokens: [Int32], targets: [Int32], batch: Int, positionLosses: UnsafeMutablePointer<Float>?) throws(ModelError) -> Float
    /// Gradients of the last forward's mean loss into `parameters.gradients` (overwritten).
    func backward()
}

/// One batch of a data task: inputs and next-token targets, row-major [size, length], and what
/// each target position is (for per-task risks).
public struct TrainingBatch: Sendable {
    public var size: Int
    public var length: Int
    public var inputs: [Int32]
    public var targets: [Int32]
    /// A task's class of each position (e.g. backcopy, bigram), as small integers; empty if none.
    public var classes: [UInt8]

    public init(size: Int, length: Int, inputs: [Int32], targets: [Int32], classes: [UInt8] = []) {
        self.size = size; self.length = length; self.inputs = inputs; self.targets = targets; self.classes = classes
    }
}

/// A data task: batches that depend only on (seed, step), so a resumed run sees the same data
/// without saving any generator state; and the risks it reports from per-position losses.
public protocol TrainingTask: Sendable {
    var vocabulary: Int { get }
    func trainingBatch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch
    /// Named risks (mean losses over classes of positions, excess over an oracle) of a batch.
    func risks(positionLosses: UnsafePointer<Float>, batch: TrainingBatch) -> [String: Double]
}
