import Foundation
import NumericTestSupport
import Testing
import TensorCore

/// GELU's tanh approximation (GPT-2's) and its derivative in float64.
///
/// `½(1 + tanh u)` is evaluated as `1/(1 + e^(−2u))`, an identity, because `1 + tanh u` cancels
/// for negative x even in float64 (at x = −10 it is 2e-10, with 1e-6 relative error).
private enum GELUReference {
    static let scale = (2 / Double.pi).squareRoot()
    static let cubic = 0.044715

    static func forward(_ x: Double) -> Double {
        let u = scale * (x + cubic * x * x * x)
        return x / (1 + Foundation.exp(-2 * u))
    }

    /// `y′ = s + ½x(1 − tanh²u)u′ = s + 2x·s(1 − s)·u′` with `s = ½(1 + tanh u)`, and
    /// `1 − s = e^(−2u)/(1 + e^(−2u))` so that it does not cancel for large x.
    static func derivative(_ x: Double) -> Double {
        let u = scale * (x + cubic * x * x * x)
        let e = Foundation.exp(-2 * u)
        let s = 1 / (1 + e)
        let complement = e / (1 + e)
        let slope = scale * (1 + 3 * cubic * x * x)
        return s + 2 * x * s * complement * slope
    }
}

/// Element counts that exercise the empty, tail-only, whole-vector and vector-plus-tail paths.
private let counts = [0, 1, 15, 16, 17, 33, 100]

@Suite struct GELUTests {
    @Test func referenceMatchesTheTanhFormula() {
        // Where 1 + tanh u does not cancel (|x| ≤ 3), the identity must agree with the textbook form.
        for x in stride(from: -3.0, through: 3.0, by: 0.125) {
            let u = GELUReference.scale * (x + GELUReference.cubic * x * x * x)
            let textbook = 0.5 * x * (1 + tanh(u))
            #expect(abs(GELUReference.forward(x) - textbook) <= 1e-12 * max(1, abs(textbook)), "x = \(x)")
        }
        // GELU(1) from the tanh formula in Python's float64 math module.
        #expect(abs(GELUReference.forward(1) - 0.8411919906082768) < 1e-15)
    }

    @Test(arguments: counts)
    func forwardMatchesFloat64(_ count: Int) throws {
        let x = try TestInputs.normal(shape: [count], seed: 71, standardDeviation: 3)
        let y = Kernels.gelu(x.tensor)
        #expect(y.shape == [count])
        // fastExp's 2 ulp, the rounding of u (up to |2u|·2⁻²⁴ relative in e^(−2u)) and the division:
        // a few ulp of y, so 1e-6 (measured ≤ 9e-8); the exact-erf GELU would differ by ~1e-4.
        let report = ErrorReport(y.storage, x.values.map(GELUReference.forward))
        #expect(report.relative < 1e-6, "\(report)")
    }

    @Test func forwardAtLargeMagnitudes() throws {
        let inputs: [Float] = [0, 10, 30, 1e4, 1e20, -10, -30, -1e4, -1e20, .infinity]
        let y = Kernels.gelu(try Tensor(shape: [inputs.count], storage: inputs))
        #expect(y.storage[0] == 0)
        #expect(Array(y.storage[1...4]) == Array(inputs[1...4]), "GELU(x) rounds to x for large positive x")
        for (x, value) in zip(inputs[5...8], y.storage[5...8]) {
            #expect(value <= 0 && value > -1e-20, "GELU(\(x)) = \(value), expected ≈ 0⁻")
        }
        #expect(y.storage[9] == .infinity)
    }

    /// First link: the float64 derivative against central differences of the float64 forward.
    @Test func float64DerivativeMatchesCentralDifferences() throws {
        let x = try TestInputs.normal(shape: [200], seed: 72, standardDeviation: 3).values
        let w = try TestInputs.normal(shape: [200], seed: 73).values
        func loss(_ x: [Double]) -> Double { zip(x, w).reduce(0) { $0 + $1.1 * GELUReference.forward($1.0) } }
        let analytic = zip(x, w).map { $1 * GELUReference.derivative($0) }
        // 1e-6: central differences of a smooth float64 function of O(1) inputs are good to ~1e-10.
        checkGradient(loss, at: x, analytic: analytic, samples: 200, name: "x")
    }

    /// Second link: the float32 backward kernel against the float64 derivative.
    @Test(arguments: counts)
    func backwardMatchesFloat64(_ count: Int) throws {
        let x = try TestInputs.normal(shape: [count], seed: 74, standardDeviation: 3)
        let dy = try TestInputs.normal(shape: [count], seed: 75)
        let dx = try Kernels.geluBackward(outputGradient: dy.tensor, input: x.tensor)
        #expect(dx.shape == [count])
        // As for the forward pass: a few ulp of each term of s·(1 + 2x(1 − s)u′) (measured ≤ 8e-8).
        let reference = zip(x.values, dy.values).map { $1 * GELUReference.derivative($0) }
        let report = ErrorReport(dx.storage, reference)
        #expect(report.relative < 1e-6, "\(report)")
    }

    @Test func derivativeAtLargeMagnitudes() throws {
        // Saturated lanes: e^(−2u) is 0 (slope 1) or +∞ (slope 0). Beyond |x| ≈ 1.2e13, x³ and
        // 2x·u′ overflow float32, and neither may turn the slope into 0·∞ = NaN.
        let positive: [Float] = [10, 30, 1e4, 3e13, 1e20, .greatestFiniteMagnitude, .infinity]
        let inputs = positive + positive.map { -$0 } + [.nan]
        let x = try Tensor(shape: [inputs.count], storage: inputs)
        let dx = try Kernels.geluBackward(outputGradient: Tensor(repeating: 1, shape: [inputs.count]), input: x)
        for (x, value) in zip(inputs, dx.storage) where !x.isNaN {
            let expected: Float = x > 0 ? 1 : 0
            #expect(abs(value - expected) < 1e-20, "GELU′(\(x)) = \(value), expected \(expected)")
        }
        #expect(dx.storage.last!.isNaN, "NaN must stay NaN")
    }

    @Test func rawBackwardAccumulates() throws {
        let x = try TestInputs.normal(shape: [21], seed: 76, standardDeviation: 2)
        let dy = try TestInputs.normal(shape: [21], seed: 77)
        let fresh = try Kernels.geluBackward(outputGradient: dy.tensor, input: x.tensor)
        var accumulated = try Tensor(repeating: 0.5, shape: [21])
        dy.tensor.withUnsafeBufferPointer { dy in
            x.tensor.withUnsafeBufferPointer { x in
                accumulated.withUnsafeMutableBufferPointer { dx in
                    Kernels.geluBackward(outputGradient: dy.baseAddress!, input: x.baseAddress!, count: 21,
                                         inputGradient: dx.baseAddress!)
                }
            }
        }
        // 0.5 + dy·y′ fused versus dy·y′ rounded first: one rounding apart.
        let report = ErrorReport(accumulated.storage, fresh.doubles.map { $0 + 0.5 })
        #expect(report.relative < 1e-6, "\(report)")
    }

    @Test func backwardShapeMismatchNamesBothShapes() throws {
        let error = #expect(throws: TensorError.self) {
            try Kernels.geluBackward(outputGradient: Tensor(zeros: [2, 3]), input: Tensor(zeros: [3, 2]))
        }
        #expect(error?.description == "geluBackward (outputGradient, input): shapes [2, 3] and [3, 2] do not fit")
    }
}

@Suite struct ReLUTests {
    // ReLU selects or zeroes each element without arithmetic, so its results are compared exactly.

    @Test(arguments: counts)
    func forwardIsMaxWithZero(_ count: Int) throws {
        let x = try TestInputs.normal(shape: [count], seed: 81)
        let y = Kernels.relu(x.tensor)
        #expect(y.shape == [count])
        #expect(y.storage == x.tensor.storage.map { $0 < 0 ? 0 : $0 })
        #expect(y.storage.contains(where: { $0 > 0 }) == x.tensor.storage.contains(where: { $0 > 0 }))
    }

    @Test func specialValuesInBodyAndTail() throws {
        // Indices 0–15 are one vector, 16–19 the scalar tail: each special value appears in both.
        var inputs = [Float](repeating: 1, count: 20)
        for offset in [0, 16] {
            inputs[offset] = .nan
            inputs[offset + 1] = -0.0
            inputs[offset + 2] = -.infinity
            inputs[offset + 3] = .infinity
        }
        let y = Kernels.relu(try Tensor(shape: [20], storage: inputs)).storage
        for offset in [0, 16] {
            #expect(y[offset].isNaN, "NaN must stay NaN at \(offset)")
            #expect(y[offset + 1] == 0 && y[offset + 1].sign == .minus, "−0 must stay −0 at \(offset + 1)")
            #expect(y[offset + 2] == 0 && y[offset + 2].sign == .plus)
            #expect(y[offset + 3] == .infinity)
        }
    }

    /// First link: the analytic derivative (1 for x > 0, else 0) against central differences.
    @Test func derivativeMatchesCentralDifferences() throws {
        // Away from the kink: |x| ≥ 0.01 while the step is 1e-5·max(1, |x|).
        let x = try TestInputs.normal(shape: [100], seed: 82).values.map { $0 + ($0 < 0 ? -0.01 : 0.01) }
        let w = try TestInputs.normal(shape: [100], seed: 83).values
        func loss(_ x: [Double]) -> Double { zip(x, w).reduce(0) { $0 + $1.1 * max($1.0, 0) } }
        let analytic = zip(x, w).map { $0 > 0 ? $1 : 0 }
        checkGradient(loss, at: x, analytic: analytic, samples: 100, name: "x")
    }

    /// Second link: the kernel passes dy exactly where x > 0, including x = 0 → 0 (PyTorch's choice).
    @Test(arguments: counts)
    func backwardPassesGradientWherePositive(_ count: Int) throws {
        var x = try TestInputs.normal(shape: [count], seed: 84).tensor
        if count > 2 { x[1] = 0; x[count - 1] = 0 }
        let dy = try TestInputs.normal(shape: [count], seed: 85).tensor
        let dx = try Kernels.reluBackward(outputGradient: dy, input: x)
        #expect(dx.storage == zip(x.storage, dy.storage).map { $0 > 0 ? $1 : 0 })
    }

    @Test func rawBackwardAccumulates() throws {
        let x = try Tensor(shape: [18], storage: (0..<18).map { Float($0 % 3) - 1 })   // −1, 0, 1, …
        let dy = try Tensor(repeating: 2, shape: [18])
        var dx = try Tensor(repeating: 0.25, shape: [18])
        dy.withUnsafeBufferPointer { dy in
            x.withUnsafeBufferPointer { x in
                dx.withUnsafeMutableBufferPointer { dx in
                    Kernels.reluBackward(outputGradient: dy.baseAddress!, input: x.baseAddress!, count: 18,
                                         inputGradient: dx.baseAddress!)
                }
            }
        }
        #expect(dx.storage == x.storage.map { $0 > 0 ? 2.25 : 0.25 })
    }

    /// Overwriting: whatever `inputGradient` held is gone, vector body and tail alike.
    @Test func rawBackwardOverwrites() throws {
        let x = try Tensor(shape: [18], storage: (0..<18).map { Float($0 % 3) - 1 })
        let dy = try Tensor(repeating: 2, shape: [18])
        var dx = try Tensor(repeating: .nan, shape: [18])
        dy.withUnsafeBufferPointer { dy in
            x.withUnsafeBufferPointer { x in
                dx.withUnsafeMutableBufferPointer { dx in
                    Kernels.reluBackward(outputGradient: dy.baseAddress!, input: x.baseAddress!, count: 18,
                                         inputGradient: dx.baseAddress!, accumulating: false)
                }
            }
        }
        #expect(dx.storage == x.storage.map { $0 > 0 ? 2 : 0 })
    }

    @Test func backwardShapeMismatchNamesBothShapes() throws {
        let error = #expect(throws: TensorError.self) {
            try Kernels.reluBackward(outputGradient: Tensor(zeros: [4]), input: Tensor(zeros: [2, 2]))
        }
        #expect(error?.description == "reluBackward (outputGradient, input): shapes [4] and [2, 2] do not fit")
    }
}
