/// The distribution of the elements of a random tensor.
public enum RandomDistribution: Sendable, Equatable {
    /// Uniform on the half-open interval [low, high), from `SeededRandom.uniform(in:)`.
    case uniform(low: Float, high: Float)
    /// Normal with the given mean and standard deviation, from `SeededRandom.normal`.
    case normal(mean: Float, standardDeviation: Float)
}
