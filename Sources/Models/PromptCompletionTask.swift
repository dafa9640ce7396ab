import TensorCore

/// Supervised completion: examples of a prompt and the completion that should follow it (a
/// query and its routed form, a canonical query and its answer). Each sequence is the prompt,
/// then the completion, then padding; the loss is taken only where the next token is part of
/// the completion (targets −1 elsewhere), so a model learns to continue prompts rather than to
/// produce them.
///
/// Training steps (step ≥ 0) draw examples from `training`, negative steps from `validation`,
/// so the trainer's fixed evaluation batch (step −1) measures held-out loss. Batches depend only
/// on (seed, step).
public struct PromptCompletionTask: Sendable {
    public struct Example: Sendable, Equatable {
        public var prompt: [Int32]
        public var completion: [Int32]
        public init(prompt: [Int32], completion: [Int32]) { self.prompt = prompt; self.completion = completion }
    }

    /// Most examples a task holds (each is a few dozen tokens).
    public static let maximumExamples = 4_000_000

    public let training: [Example]
    public let validation: [Example]
    public let vocabulary: Int
    /// The token after a completion and in unused positions (inputs only; never a target).
    public let padding: Int32
    /// The longest sequence the examples were checked for: prompt + completion ≤ context + 1.
    public let context: Int

    /// - Throws: `ModelError` for an empty split, too many examples, an empty prompt or
    ///   completion, a token outside the vocabulary, or an example longer than `context + 1`
    ///   tokens (naming the split, the example and the context it needs).
    public init(training: [Example], validation: [Example], vocabulary: Int, padding: Int32, context: Int) throws(ModelError) {
        guard context >= 1 else { throw .configuration("context must be at least 1 (got \(context))") }
        guard (0..<Int32(vocabulary)).contains(padding) else {
            throw .configuration("the padding token \(padding) is outside the vocabulary 0..<\(vocabulary)")
        }
        for (name, examples) in [("training", training), ("validation", validation)] {
            guard !examples.isEmpty else { throw .input("the \(name) split has no examples") }
            guard examples.count <= Self.maximumExamples else {
                throw .input("the \(name) split has \(examples.count) examples; at most \(Self.maximumExamples)")
            }
            for (i, example) in examples.enumerated() {
                guard !example.prompt.isEmpty, !example.completion.isEmpty else {
                    throw .input("\(name) example \(i) has an empty prompt or completion")
                }
                let length = example.prompt.count + example.completion.count
                guard length <= context + 1 else {
                    throw .input("\(name) example \(i) has \(length) tokens but a context of \(context) holds \(context + 1); use a context of at least \(length - 1)")
                }
                for token in example.prompt + example.completion where !(0..<Int32(vocabulary)).contains(token) {
                    throw .input("\(name) example \(i) holds token \(token), outside the vocabulary 0..<\(vocabulary)")
                }
            }
        }
        self.training = training; self.validation = validation
        self.vocabulary = vocabulary; self.padding = padding; self.context = context
    }

    /// `example` as one row of `length` inputs and targets: inputs the sequence (padded), targets
    /// the next token where it belongs to the completion, −1 elsewhere.
    public static func row(_ example: Example, length: Int, padding: Int32) -> (inputs: [Int32], targets: [Int32]) {
        let sequence = example.prompt + example.completion
        var inputs = [Int32](repeating: padding, count: length), targets = [Int32](repeating: -1, count: length)
        for i in 0..<min(length, sequence.count) { inputs[i] = sequence[i] }
        // Position i predicts sequence[i + 1]; that is a completion token when i + 1 ≥ prompt.count.
        for i in max(0, example.prompt.count - 1)..<min(length, sequence.count - 1) { targets[i] = sequence[i + 1] }
        return (inputs, targets)
    }

    /// `size` examples drawn with replacement, as rows of `length`.
    /// - Precondition: `size` ≥ 1 and 1 ≤ `length` ≤ `context`.
    public func batch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch {
        precondition(size >= 1 && (1...context).contains(length), "a batch needs size ≥ 1 and length in 1...\(context)")
        let examples = step >= 0 ? training : validation
        var keyHash = SplitMix64(seed: seed ^ 0x9A_0C7E)
        var stepHash = SplitMix64(seed: keyHash.next() ^ UInt64(bitPattern: Int64(step)))
        var random = SeededRandom(seed: stepHash.next())
        var inputs: [Int32] = [], targets: [Int32] = []
        inputs.reserveCapacity(size * length); targets.reserveCapacity(size * length)
        for _ in 0..<size {
            let row = Self.row(examples[Int(random.next() % UInt64(examples.count))], length: length, padding: padding)
            inputs += row.inputs
            targets += row.targets
        }
        return TrainingBatch(size: size, length: length, inputs: inputs, targets: targets)
    }
}

extension PromptCompletionTask: TrainingTask {
    public func trainingBatch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch {
        batch(size: size, length: length, seed: seed, step: step)
    }

    /// None beyond the loss on completions.
    public func risks(positionLosses: UnsafePointer<Float>, batch: TrainingBatch) -> [String: Double] { [:] }
}
