import Foundation
import NumericTestSupport
import Testing
import TensorCore

/// `fastExp` promises a relative error of at most 2 ulp on [−87.3, 88.7]. One ulp of a float32
/// result is between 2⁻²⁴ and 2⁻²³ of it, so the error is measured in units of the reference's
/// own float32 ulp and checked against the documented 2 (measured worst: 1.2 ulp).
private let documentedUlps = 2.0

/// `|actual − reference|` in ulps of the reference rounded to float32.
private func ulpError(_ actual: Float, _ reference: Double) -> Double {
    abs(Double(actual) - reference) / Double(Float(reference).ulp)
}

/// `count` floats evenly spaced over `range`, both ends included.
private func evenlySpaced(_ range: ClosedRange<Float>, count: Int) -> [Float] {
    (0..<count).map { i in
        Float(Double(range.lowerBound) + Double(range.upperBound - range.lowerBound) * Double(i) / Double(count - 1))
    }
}

@Suite struct ExpTests {
    @Test func withinTwoUlpOverTheDocumentedRange() throws {
        // 40 001 points, a step of 0.0044: every binade of the result, both ends of the range.
        let inputs = evenlySpaced(-87.3...88.7, count: 40_001)
        let result = Kernels.exp(try Tensor(shape: [inputs.count], storage: inputs))
        var worst = (ulps: 0.0, x: Float(0), y: Float(1))
        for (x, y) in zip(inputs, result.storage) {
            let ulps = ulpError(y, Foundation.exp(Double(x)))
            if !(ulps <= worst.ulps) { worst = (ulps, x, y) }   // also catches NaN
        }
        #expect(worst.ulps <= documentedUlps,
                "worst error \(worst.ulps) ulp at x = \(worst.x): got \(worst.y), expected \(Foundation.exp(Double(worst.x)))")
    }

    @Test func matchesFloat64OnNormalInputs() throws {
        let x = try TestInputs.normal(shape: [3, 7, 13], seed: 41, standardDeviation: 10)
        let y = Kernels.exp(x.tensor)
        #expect(y.shape == [3, 7, 13])
        // Within 2 ulp per element, so within 2·2⁻²³ ≈ 2.4e-7 in the norm as well.
        let report = ErrorReport(y.storage, x.values.map { Foundation.exp($0) })
        #expect(report.relative < 2.4e-7, "\(report)")
    }

    @Test func largeInputsNearTheOverflowThreshold() throws {
        // e^x is finite in float32 up to ln(FLT_MAX) ≈ 88.7228; 88.38 and above is where
        // round(x·log₂e) reaches 128, whose 2ⁿ has no float32 exponent of its own.
        let inputs: [Float] = [80, 88, 88.3, 88.4, 88.5, 88.6, 88.7, 88.72]
        let result = Kernels.exp(try Tensor(shape: [inputs.count], storage: inputs))
        for (x, y) in zip(inputs, result.storage) {
            let reference = Foundation.exp(Double(x))
            #expect(y.isFinite && ulpError(y, reference) <= documentedUlps,
                    "exp(\(x)) = \(y), expected \(reference)")
        }
    }

    @Test(arguments: [
        (-Float.infinity, 0), (-1000, 0), (-88, 0), (-87.34, 0),   // below −87.33: exactly 0
        (0, 1),                                                    // e⁰ is exact
        (88.73, .infinity), (1000, .infinity), (.infinity, .infinity),
    ] as [(Float, Float)])
    func specialValues(_ x: Float, _ expected: Float) throws {
        // A vector lane and a tail lane (count 17) take the same path: both must agree.
        let inputs = [Float](repeating: x, count: 17)
        let result = Kernels.exp(try Tensor(shape: [17], storage: inputs))
        #expect(result.storage.allSatisfy { $0 == expected && $0.sign == expected.sign },
                "exp(\(x)) = \(result.storage[0]) / \(result.storage[16]), expected \(expected)")
        #expect(fastExp(x) == expected)
    }

    @Test func nanStaysNaN() throws {
        let result = Kernels.exp(try Tensor(shape: [17], storage: [Float](repeating: .nan, count: 17)))
        #expect(result.storage.allSatisfy { $0.isNaN })
        #expect(fastExp(Float.nan).isNaN)
    }

    @Test(arguments: [0, 1, 15, 16, 17, 31, 32, 33, 100])
    func everyCountAndTheTailAgree(_ count: Int) throws {
        // Lane by lane, the tail must round exactly like the vector body: compare with scalar fastExp.
        let x = try TestInputs.normal(shape: [count], seed: 42, standardDeviation: 5)
        let y = Kernels.exp(x.tensor)
        #expect(y.storage == x.tensor.storage.map { fastExp($0) })
        let report = ErrorReport(y.storage, x.values.map { Foundation.exp($0) })
        #expect(report.relative < 2.4e-7, "\(report)")
    }

    @Test func pointerFormWorksInPlace() throws {
        let x = try TestInputs.normal(shape: [37], seed: 43, standardDeviation: 4)
        var inPlace = x.tensor
        inPlace.withUnsafeMutableBufferPointer { buffer in
            Kernels.exp(buffer.baseAddress!, into: buffer.baseAddress!, count: buffer.count)
        }
        #expect(inPlace == Kernels.exp(x.tensor))
    }

    @Test func shiftedVariantWithinItsDocumentedError() throws {
        // fastExpShifted serves softmax after the row maximum is subtracted (x ≤ 8 there); it
        // promises relative error ≤ 4e-7, looser than fastExp's 2 ulp, in exchange for speed.
        let inputs = evenlySpaced(-87.3...8, count: 16 * 1_000)
        var worst = (error: 0.0, x: Float(0), y: Float(0))
        for start in stride(from: 0, to: inputs.count, by: 16) {
            let y = fastExpShifted(SIMD16<Float>(inputs[start..<(start + 16)]))
            for lane in 0..<16 {
                let x = inputs[start + lane]
                let reference = Foundation.exp(Double(x))
                let error = abs(Double(y[lane]) - reference) / reference
                if !(error <= worst.error) { worst = (error, x, y[lane]) }
            }
        }
        #expect(worst.error <= 4e-7, "relative error \(worst.error) at x = \(worst.x): got \(worst.y)")
        // Below −87.33 it returns e^−87.33 ≈ 1.2e-38 rather than 0, and NaN propagates.
        let low = fastExpShifted(SIMD16(repeating: -1000))
        #expect(low[0] > 1.1e-38 && low[0] < 1.3e-38, "got \(low[0])")
        #expect(fastExpShifted(SIMD16(repeating: .nan))[0].isNaN)
    }
}
