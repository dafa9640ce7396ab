import TensorCore

/// Next-character prediction on a `CharacterCorpus`: each sequence is a window of `length + 1`
/// tokens at a random start, inputs its first `length` and targets its last `length`.
///
/// Training steps (step ≥ 0) draw windows from the training split; negative steps draw from the
/// held-out validation split, so the trainer's fixed evaluation batch (step −1) measures
/// validation loss. Batches depend only on (seed, step).
public struct CharacterCorpusTask: Sendable {
    public let corpus: CharacterCorpus
    /// The longest sequence the task was checked for.
    public let context: Int

    /// - Throws: `ModelError.input` when either split is shorter than one window of `context + 1`.
    public init(corpus: CharacterCorpus, context: Int) throws(ModelError) {
        guard context >= 1 else { throw .configuration("context must be at least 1 (got \(context))") }
        for (name, split) in [("training", corpus.training), ("validation", corpus.validation)] where split.count < context + 1 {
            throw .input("\(corpus.source) is too short: its \(name) split has \(split.count) characters but one sequence needs \(context + 1); use a longer text or a shorter context")
        }
        self.corpus = corpus
        self.context = context
    }

    /// `size` windows of `length`, from the training split for step ≥ 0 and the validation split otherwise.
    /// - Precondition: 1 ≤ `length` ≤ `context`, `size` ≥ 1.
    public func batch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch {
        precondition(size >= 1 && (1...context).contains(length), "a batch needs size ≥ 1 and length in 1...\(context)")
        let tokens = step >= 0 ? corpus.training : corpus.validation
        var keyHash = SplitMix64(seed: seed ^ 0xC0_4905)
        var stepHash = SplitMix64(seed: keyHash.next() ^ UInt64(bitPattern: Int64(step)))
        var random = SeededRandom(seed: stepHash.next())
        let starts = UInt64(tokens.count - length)      // windows of length + 1 that fit
        var inputs: [Int32] = [], targets: [Int32] = []
        inputs.reserveCapacity(size * length); targets.reserveCapacity(size * length)
        for _ in 0..<size {
            let start = Int(random.next() % starts)
            inputs += tokens[start..<(start + length)]
            targets += tokens[(start + 1)...(start + length)]
        }
        return TrainingBatch(size: size, length: length, inputs: inputs, targets: targets)
    }
}

extension CharacterCorpusTask: TrainingTask {
    public var vocabulary: Int { corpus.vocabulary }

    public func trainingBatch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch {
        batch(size: size, length: length, seed: seed, step: step)
    }

    /// None beyond the loss: every position is an ordinary next-character target.
    public func risks(positionLosses: UnsafePointer<Float>, batch: TrainingBatch) -> [String: Double] { [:] }
}
