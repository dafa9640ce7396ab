import Testing

/// The outcome of comparing an analytic gradient with central differences.
public struct GradientCheck: Sendable, CustomStringConvertible {
    /// One sampled coordinate: its index, the analytic and numeric derivatives, and their error.
    public struct Sample: Sendable {
        public var index: Int
        public var analytic: Double
        public var numeric: Double
        /// `|analytic − numeric| / max(|numeric|, 1)`: relative, absolute near 0.
        public var error: Double
    }

    /// Every sampled coordinate, in sampling order.
    public var samples: [Sample]

    /// The sample with the largest error (a NaN error counts as largest).
    public var worst: Sample? {
        samples.max { a, b in a.error.isNaN ? false : (b.error.isNaN || a.error < b.error) }
    }

    public var description: String {
        guard let worst else { return "no samples" }
        return "worst of \(samples.count) samples: ∂L/∂x[\(worst.index)] analytic \(worst.analytic), "
            + "numeric \(worst.numeric), error \(worst.error)"
    }

    /// Compares `analytic` with central differences of `loss` at `samples` random coordinates of `x`.
    ///
    /// The step is `h = 1e-5 · max(1, |x_i|)`, about ∛ε for float64: it balances the h² truncation
    /// error of the central difference against the ε/h rounding error of the two losses.
    /// - Parameters:
    ///   - loss: a scalar function of `x`, in float64.
    ///   - x: the point.
    ///   - analytic: `∂loss/∂x` at `x`, as computed by the code under test.
    ///   - samples: how many coordinates to check (drawn with replacement); all of them when it is
    ///     at least `x.count`.
    ///   - seed: the seed of the coordinate choice.
    /// - Precondition: `analytic.count == x.count`.
    /// - Complexity: O(samples) calls of `loss`.
    public init(_ loss: ([Double]) -> Double, at x: [Double], analytic: [Double],
                samples: Int = 64, seed: UInt64 = 7) {
        precondition(analytic.count == x.count, "analytic gradient has \(analytic.count) elements, x has \(x.count)")
        var rng = TestRandom(seed: seed)
        let indices = samples >= x.count ? Array(x.indices)
            : (0..<samples).map { _ in Int.random(in: x.indices, using: &rng) }
        self.samples = indices.map { i in
            let h = 1e-5 * max(1, abs(x[i]))
            var up = x, down = x
            up[i] += h; down[i] -= h
            let numeric = (loss(up) - loss(down)) / (2 * h)
            let error = abs(analytic[i] - numeric) / max(abs(numeric), 1)
            return Sample(index: i, analytic: analytic[i], numeric: numeric, error: error)
        }
    }

    /// Whether every sample's error is below `tolerance` (false when any is NaN).
    public func isWithin(_ tolerance: Double) -> Bool {
        samples.allSatisfy { $0.error < tolerance }
    }
}

/// Checks `analytic` against central differences of `loss` at `samples` random coordinates of `x`,
/// recording one expectation per failing coordinate at the caller's source location.
/// - Parameters:
///   - loss: a scalar function of `x`, in float64.
///   - x: the point.
///   - analytic: `∂loss/∂x` at `x`.
///   - samples: how many coordinates to check; every one when at least `x.count`.
///   - seed: the seed of the coordinate choice.
///   - tolerance: the largest accepted `|analytic − numeric| / max(|numeric|, 1)`; 1e-6 holds for
///     smooth float64 functions with O(1) inputs, where the difference's own error is about 1e-10.
///   - name: what `x` is, for the failure message.
///   - maximumReported: how many failing coordinates get their own issue before one summary issue.
/// - Returns: the full comparison, for further checks.
/// - Complexity: O(samples) calls of `loss`.
@discardableResult
public func checkGradient(_ loss: ([Double]) -> Double, at x: [Double], analytic: [Double],
                          samples: Int = 64, seed: UInt64 = 7, tolerance: Double = 1e-6,
                          name: String = "x", maximumReported: Int = 5, sourceLocation: SourceLocation = #_sourceLocation) -> GradientCheck {
    let check = GradientCheck(loss, at: x, analytic: analytic, samples: samples, seed: seed)
    let failing = check.samples.filter { !($0.error < tolerance) }
    // The first few failing coordinates, then one summary: a wrong backward fails everywhere.
    for sample in failing.prefix(maximumReported) {
        #expect(sample.error < tolerance,
                "∂L/∂\(name)[\(sample.index)]: analytic \(sample.analytic), numeric \(sample.numeric)",
                sourceLocation: sourceLocation)
    }
    if failing.count > maximumReported {
        Issue.record("∂L/∂\(name): \(failing.count) of \(check.samples.count) samples exceed \(tolerance); \(check)",
                     sourceLocation: sourceLocation)
    }
    return check
}
