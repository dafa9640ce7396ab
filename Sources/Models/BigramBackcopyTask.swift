import TensorCore

/// The Bigram-Backcopy (BB) task of Guo et al. 2024 (arXiv 2410.13835, §2; class `bbm` in
/// BBM/data.py of their code): sequences from a bigram model, except that after a trigger token
/// the next token copies the token before the trigger.
///
/// A sequence of `length + 1` tokens x₀ … x_T (T = `length`) is
/// - x₀ = BOS;
/// - x₁ ~ the marginal with the triggers removed and renormalised;
/// - for t ≥ 1: x_{t+1} = x_{t−1} if x_t is a trigger (back-copy), else x_{t+1} ~ bigram row x_t.
///
/// So what follows a back-copied token is an ordinary bigram draw from it. The first real token is
/// not a trigger, so two triggers are never adjacent and a back-copy never copies BOS or a
/// trigger. BOS and the delimiter have probability 0 everywhere (the statistics remove them). A
/// token whose row gives only triggers (in Tiny Shakespeare, `'3'`, always followed by `' '`)
/// loops `3 ␣ 3 ␣ …` to the end, as in the paper's generator.
///
/// Inputs are x₀ … x_{T−1} and targets x₁ … x_T. Target t is a back-copy exactly when input t is
/// a trigger; all other targets, including the first (after BOS), are bigram targets, as in the
/// paper's split of the loss.
public struct BigramBackcopyTask: Sendable {
    /// The sequence length (inputs and targets) the paper trains on.
    public static let defaultLength = 256
    /// The number of triggers the paper uses.
    public static let defaultTriggerCount = 3

    /// The token statistics.
    public let statistics: BigramBackcopyStatistics
    /// The trigger tokens: the `triggerCount` most frequent by marginal, most frequent first.
    public let triggers: [Int]
    /// `isTrigger[token]`, length V.
    public let isTrigger: [Bool]
    /// The distribution of x₁: the marginal with the triggers removed, renormalised (length V).
    public let firstTokenDistribution: [Double]
    /// V bigram rows, then `firstTokenDistribution` (row V).
    @usableFromInline let tables: AliasTable

    /// Sets up the task: picks the triggers and builds the samplers.
    /// - Parameters:
    ///   - statistics: the token statistics (see `BigramBackcopyStatistics.load(from:)`).
    ///   - triggerCount: how many of the most frequent tokens are triggers (the paper: 3).
    /// - Precondition: 1 ≤ `triggerCount` < the number of tokens with nonzero marginal.
    /// - Complexity: O(V²).
    public init(statistics: BigramBackcopyStatistics, triggerCount: Int = defaultTriggerCount) {
        self.statistics = statistics
        triggers = statistics.mostFrequent(triggerCount)
        var isTrigger = [Bool](repeating: false, count: statistics.count)
        for t in triggers { isTrigger[t] = true }
        self.isTrigger = isTrigger
        let kept = statistics.marginal.enumerated().map { isTrigger[$0.offset] ? 0 : $0.element }
        let sum = kept.reduce(0, +)
        firstTokenDistribution = kept.map { $0 / sum }
        tables = AliasTable(statistics.bigram + [firstTokenDistribution], width: statistics.count)
    }

    /// A fresh batch of sequences, fixed by `(seed, step)` alone, so training resumes bit-exactly
    /// from a step number without saving generator state.
    ///
    /// Sequence b fills `inputs[b·length ..< (b+1)·length]` and the same slice of `targets`
    /// (row-major). The generator for the batch is xoshiro256** seeded from SplitMix64 of
    /// `seed` and `step` (integer arithmetic only), so every machine gives the same batch.
    /// - Parameters:
    ///   - size: the number of sequences, B ≥ 1.
    ///   - length: T ≥ 1, the inputs (and targets) per sequence; each sequence has T + 1 tokens.
    ///   - seed: the run's data seed.
    ///   - step: the training step, ≥ 0.
    /// - Returns: B·T inputs, targets, target kinds and BOS flags.
    /// - Complexity: O(B·T), one random number per bigram target.
    public func batch(size: Int, length: Int = defaultLength, seed: UInt64, step: Int) -> Batch {
        precondition(size >= 1 && length >= 1, "a batch needs size ≥ 1 and length ≥ 1, got \(size) × \(length)")
        precondition(step >= 0, "step must be ≥ 0, got \(step)")
        var rng = Self.generator(seed: seed, step: step)
        let n = size * length
        var inputs = [Int32](repeating: 0, count: n)        // (B, T) row-major
        var targets = [Int32](repeating: 0, count: n)       // (B, T) row-major
        var kinds = [TargetKind](repeating: .bigram, count: n)  // (B, T) row-major
        let width = statistics.count
        let firstRow = width
        let begin = Int32(statistics.beginToken)
        isTrigger.withUnsafeBufferPointer { trigger in
        tables.threshold.withUnsafeBufferPointer { threshold in
        tables.alias.withUnsafeBufferPointer { alias in
        inputs.withUnsafeMutableBufferPointer { input in
        targets.withUnsafeMutableBufferPointer { target in
        kinds.withUnsafeMutableBufferPointer { kind in
            let threshold = threshold.baseAddress!, alias = alias.baseAddress!
            for b in 0..<size {
                let row = b * length
                var previous: Int32 = begin
                var current = begin
                for t in 0..<length {
                    let next: Int32
                    if t == 0 {
                        next = AliasTable.draw(row: firstRow, bits: rng.next(), width: width,
                                               threshold: threshold, alias: alias)
                    } else if trigger[Int(current)] {
                        next = previous
                        kind[row + t] = .backcopy
                    } else {
                        next = AliasTable.draw(row: Int(current), bits: rng.next(), width: width,
                                               threshold: threshold, alias: alias)
                    }
                    input[row + t] = current
                    target[row + t] = next
                    previous = current
                    current = next
                }
            }
        }}}}}}
        return Batch(size: size, length: length, beginToken: begin, inputs: inputs, targets: targets, kinds: kinds)
    }

    /// The batch generator for `(seed, step)`: SplitMix64 hashes the seed to a key, the key XOR
    /// the step is hashed again, and that seeds xoshiro256**. Distinct steps of one seed get
    /// distinct generator seeds (both hashes are bijections); the extra hash keeps the four
    /// SplitMix64 words that seed consecutive steps from overlapping, as `key + step·φ` would.
    static func generator(seed: UInt64, step: Int) -> SeededRandom {
        var keyHash = SplitMix64(seed: seed)
        var stepHash = SplitMix64(seed: keyHash.next() ^ UInt64(step))
        return SeededRandom(seed: stepHash.next())
    }
}

extension BigramBackcopyTask: TrainingTask {
    public var vocabulary: Int { statistics.count }

    public func trainingBatch(size: Int, length: Int, seed: UInt64, step: Int) -> TrainingBatch {
        let batch: Batch = batch(size: size, length: length, seed: seed, step: step)
        return TrainingBatch(size: size, length: length, inputs: batch.inputs, targets: batch.targets,
                             classes: batch.kinds.map(\.rawValue))
    }

    /// `backcopy_risk`, `bigram_risk` and `excess_bigram_risk`: the excess is over the oracle of
    /// this very batch (the mean entropy of the bigram rows its bigram positions draw from), as
    /// the paper measures it.
    public func risks(positionLosses: UnsafePointer<Float>, batch: TrainingBatch) -> [String: Double] {
        let count = batch.size * batch.length
        let losses = Array(UnsafeBufferPointer(start: positionLosses, count: count))
        let kinds = batch.classes.map { TargetKind(rawValue: $0) ?? .bigram }
        let entropy = (0..<statistics.count).map(statistics.rowEntropy)
        var oracle = 0.0, bigramPositions = 0
        for (input, kind) in zip(batch.inputs, kinds) where kind == .bigram {
            oracle += entropy[Int(input)]
            bigramPositions += 1
        }
        let risk = BigramBackcopyRisk(losses: losses, kinds: kinds, oracleBigram: oracle / Double(max(1, bigramPositions)))
        return [TrainingMetric.backcopyRisk.name: risk.backcopy, TrainingMetric.bigramRisk.name: risk.bigram,
                TrainingMetric.excessBigramRisk.name: risk.excessBigram]
    }
}
