/// A model's mean next-token loss on a Bigram-Backcopy batch, split as Guo et al. 2024 split it:
/// back-copy positions (input a trigger) and bigram positions (all others, including the first,
/// whose input is BOS), with the excess over the oracle.
///
/// The oracle predicts the true next-token distribution: one-hot at back-copy positions (risk 0)
/// and the bigram row of the input elsewhere, so its bigram risk is the mean row entropy over the
/// bigram positions (`BigramBackcopyTask.oracleBigramRisk`).
public struct BigramBackcopyRisk: Sendable, Equatable {
    /// The mean loss (nats) over back-copy positions; also its excess, the oracle's being 0.
    /// NaN when the batch has none.
    public var backcopy: Double
    /// The mean loss (nats) over bigram positions.
    public var bigram: Double
    /// `bigram` minus the oracle bigram risk it was given.
    public var excessBigram: Double
    /// How many back-copy and bigram positions were averaged.
    public var backcopyCount: Int
    public var bigramCount: Int

    /// The oracle's risk at back-copy positions: the target is determined by the input.
    public static let oracleBackcopy = 0.0

    /// Splits per-position losses by target kind.
    /// - Parameters:
    ///   - losses: (B, T) row-major, the model's −log p(target) at each position (nats).
    ///   - kinds: (B, T) row-major, from the batch the losses were measured on.
    ///   - oracleBigram: the oracle bigram risk to subtract: `task.oracleBigramRisk(of: batch)`
    ///     for the paper's per-batch figure, or `task.oracleBigramRisk(length:)`, its expectation.
    /// - Precondition: `losses.count == kinds.count`.
    /// - Complexity: O(B·T).
    public init(losses: [Float], kinds: [BigramBackcopyTask.TargetKind], oracleBigram: Double) {
        precondition(losses.count == kinds.count, "\(losses.count) losses for \(kinds.count) positions")
        var sums = (backcopy: 0.0, bigram: 0.0), counts = (backcopy: 0, bigram: 0)
        for (loss, kind) in zip(losses, kinds) {
            switch kind {
            case .backcopy: sums.backcopy += Double(loss); counts.backcopy += 1
            case .bigram: sums.bigram += Double(loss); counts.bigram += 1
            }
        }
        backcopy = sums.backcopy / Double(counts.backcopy)
        bigram = sums.bigram / Double(counts.bigram)
        excessBigram = bigram - oracleBigram
        backcopyCount = counts.backcopy
        bigramCount = counts.bigram
    }
}

extension BigramBackcopyTask {
    /// The expected oracle bigram risk for sequences of `length` positions: the ratio
    /// E[Σ_t 1(x_t not a trigger)·H(bigram row x_t)] / E[Σ_t 1(x_t not a trigger)] over
    /// t = 0 … T−1, with H(row) the row's entropy in nats and the BOS row (the marginal) at t = 0.
    ///
    /// This is the expectation of what the paper's code reports for one batch
    /// (`get_risk(probs, probs)` in BBM/probe_utils.py: the mean row entropy over the non-trigger
    /// positions of a sampled batch). It is computed exactly by pushing the distribution of the
    /// pair (x_{t−1}, x_t), which determines the next step, forward T − 1 steps. The infinite-length
    /// limit would not do: the task has absorbing loops (`3 ␣ 3 ␣ …`), so the risk depends on T.
    /// For the paper's data and T = 256 it is 2.2222; one batch of 512 sequences scatters around it
    /// with a standard deviation of about 0.005, and the paper's 2.2298 is such a batch.
    /// - Parameter length: T ≥ 1.
    /// - Returns: the expected oracle bigram risk, nats.
    /// - Complexity: O(T·V²).
    public func oracleBigramRisk(length: Int = defaultLength) -> Double {
        precondition(length >= 1, "length must be ≥ 1, got \(length)")
        let v = statistics.count
        let entropy = (0..<v).map(statistics.rowEntropy)
        // Position 0: input BOS, never a trigger.
        var weighted = entropy[statistics.beginToken], mass = 1.0
        var pair = [Double](repeating: 0, count: v * v)  // (V, V) row-major: P(x_{t−1} = i, x_t = j)
        for j in 0..<v { pair[statistics.beginToken * v + j] = firstTokenDistribution[j] }
        var next = pair
        var current = [Double](repeating: 0, count: v)   // (V): P(x_t = j)
        for t in 1..<length {
            for j in 0..<v { current[j] = 0 }
            for i in 0..<v { for j in 0..<v { current[j] += pair[i * v + j] } }
            for j in 0..<v where !isTrigger[j] {
                weighted += current[j] * entropy[j]
                mass += current[j]
            }
            guard t + 1 < length else { break }
            for k in next.indices { next[k] = 0 }
            for j in 0..<v where current[j] > 0 {
                if isTrigger[j] {
                    for i in 0..<v { next[j * v + i] += pair[i * v + j] }  // x_{t+1} = x_{t−1}
                } else {
                    let row = statistics.bigram[j]
                    for k in 0..<v { next[j * v + k] += current[j] * row[k] }
                }
            }
            swap(&pair, &next)
        }
        return weighted / mass
    }

    /// The oracle bigram risk on one batch, as the paper's code measures it: the mean entropy of
    /// the input's bigram row over the batch's bigram positions (the BOS row at the first).
    /// - Complexity: O(B·T + V²).
    public func oracleBigramRisk(of batch: Batch) -> Double {
        let entropy = (0..<statistics.count).map(statistics.rowEntropy)
        var sum = 0.0, count = 0
        for (input, kind) in zip(batch.inputs, batch.kinds) where kind == .bigram {
            sum += entropy[Int(input)]
            count += 1
        }
        return sum / Double(count)
    }
}
