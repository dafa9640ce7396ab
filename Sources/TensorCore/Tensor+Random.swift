extension Tensor {
    /// A tensor of independent random elements, reproducible from `seed` on every machine.
    ///
    /// Elements are drawn in row-major order from a fresh `SeededRandom(seed: seed)`, so a
    /// tensor equals the first `count` draws of that generator.
    /// - Parameters:
    ///   - shape: the extents, each ≥ 0.
    ///   - distribution: what each element is drawn from.
    ///   - seed: fixes every bit of the result.
    /// - Throws: `TensorError.invalidShape` for a negative extent.
    /// - Precondition: a uniform distribution has finite `low < high`; a normal one has a finite
    ///   standard deviation ≥ 0.
    /// - Complexity: O(count).
    public static func random(shape: [Int], distribution: RandomDistribution,
                              seed: UInt64) throws(TensorError) -> Tensor {
        var generator = SeededRandom(seed: seed)
        return try random(shape: shape, distribution: distribution, using: &generator)
    }

    /// A tensor of independent random elements drawn in row-major order from `generator`.
    ///
    /// Passing one generator to several calls gives tensors that continue one stream.
    /// - Parameters:
    ///   - shape: the extents, each ≥ 0.
    ///   - distribution: what each element is drawn from.
    ///   - generator: the stream to draw from; it advances by the draws made.
    /// - Throws: `TensorError.invalidShape` for a negative extent.
    /// - Precondition: as for `random(shape:distribution:seed:)`.
    /// - Complexity: O(count).
    public static func random(shape: [Int], distribution: RandomDistribution,
                              using generator: inout SeededRandom) throws(TensorError) -> Tensor {
        var result = try Tensor(zeros: shape)
        switch distribution {
        case let .uniform(low, high):
            precondition(low.isFinite && high.isFinite && low < high,
                         "uniform distribution needs finite low < high, got [\(low), \(high))")
            for i in result.storage.indices {
                result.elements[i] = generator.uniform(in: low..<high)
            }
        case let .normal(mean, standardDeviation):
            precondition(mean.isFinite && standardDeviation.isFinite && standardDeviation >= 0,
                         "normal distribution needs a finite mean and standard deviation ≥ 0, "
                             + "got mean \(mean), standard deviation \(standardDeviation)")
            for i in result.storage.indices {
                result.elements[i] = generator.normal(mean: mean, standardDeviation: standardDeviation)
            }
        }
        return result
    }

    /// A tensor of normal elements drawn in row-major order from `generator`, for callers whose
    /// shapes are already checked (benchmarks, tests).
    /// - Parameters:
    ///   - shape: the extents.
    ///   - mean: the distribution's mean.
    ///   - standardDeviation: the distribution's standard deviation, ≥ 0.
    ///   - generator: the stream to draw from; it advances by `count` normals.
    /// - Precondition: no extent is negative.
    /// - Complexity: O(count).
    public static func randomNormal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                                    using generator: inout SeededRandom) -> Tensor {
        var result = Tensor(uncheckedZeros: shape)
        for i in result.storage.indices {
            result.elements[i] = generator.normal(mean: mean, standardDeviation: standardDeviation)
        }
        return result
    }
}
