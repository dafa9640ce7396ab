import Foundation
import NumericTestSupport
import Testing
import TensorCore

/// Each float32 softmax element carries fastExp's 2 ulp, half an ulp from rounding x − max, one
/// from the normalising multiply and the reordered sum's few ulp: about 5 ulp ≈ 6e-7 relative
/// (measured ≤ 1e-7 in the norm, ≤ 1.6e-7 in a row sum). 1e-6 covers that; a missing max shift
/// or a wrong row gives an error of order 1.
private let softmaxTolerance = 1e-6

/// Softmax of each row in float64, shifted by the row maximum; a row whose maximum is −∞ gives
/// zeros (the kernel's documented convention for fully masked rows).
private func referenceSoftmax(_ x: [Double], columns: Int) -> [Double] {
    guard columns > 0 else { return x }
    var y = [Double](repeating: 0, count: x.count)
    for start in stride(from: 0, to: x.count, by: columns) {
        let row = x[start..<(start + columns)]
        let rowMax = row.max()!
        guard rowMax > -.infinity else { continue }
        let e = row.map { Foundation.exp($0 - rowMax) }
        let sum = e.reduce(0, +)
        for (j, value) in e.enumerated() { y[start + j] = value / sum }
    }
    return y
}

/// One softmax input: its shape and how its values are drawn.
struct SoftmaxCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var mean = 0.0
    var standardDeviation = 1.0
    var testDescription: String { "\(Tensor.describe(shape)) ~ N(\(mean), \(standardDeviation)²)" }
}

@Suite struct SoftmaxTests {
    @Test(arguments: [
        SoftmaxCase(shape: [1, 1]),
        SoftmaxCase(shape: [4, 15]), SoftmaxCase(shape: [4, 16]), SoftmaxCase(shape: [4, 17]),
        SoftmaxCase(shape: [2, 3, 33]), SoftmaxCase(shape: [3, 100], standardDeviation: 4),
        SoftmaxCase(shape: [5]),
        // Large logits: without the max shift expf overflows past 88.7 and the row becomes ∞/∞.
        SoftmaxCase(shape: [3, 40], mean: 1e4, standardDeviation: 3),
        SoftmaxCase(shape: [3, 40], mean: -1e4, standardDeviation: 3),
        SoftmaxCase(shape: [3, 40], standardDeviation: 300),
    ])
    func matchesFloat64AndRowsSumToOne(_ c: SoftmaxCase) throws {
        let x = try TestInputs.normal(shape: c.shape, seed: 51, mean: c.mean, standardDeviation: c.standardDeviation)
        let y = Kernels.softmax(x.tensor)
        #expect(y.shape == c.shape)
        let columns = c.shape.last!
        let report = ErrorReport(y.storage, referenceSoftmax(x.values, columns: columns))
        #expect(report.relative < softmaxTolerance, "\(report.describing(shape: c.shape))")
        for start in stride(from: 0, to: y.count, by: columns) {
            let sum = y.storage[start..<(start + columns)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(sum - 1) < softmaxTolerance, "row at \(start) sums to \(sum)")
        }
    }

    @Test func extremeFiniteLogitsDoNotOverflow() throws {
        // FLT_MAX − (−FLT_MAX) overflows to +∞ inside the shift, so the last entry's e^(−∞) is 0.
        let big = Float.greatestFiniteMagnitude
        let x = try Tensor(shape: [3, 3], storage: [big, 0, -big,
                                                    big, big, big,
                                                    1e30, 1e30, -1e30])
        let y = Kernels.softmax(x)
        let third: Float = 1 / 3
        let expected: [Float] = [1, 0, 0, third, third, third, 0.5, 0.5, 0]
        #expect(y.storage == expected)
    }

    @Test func maskedEntriesGetZeroAndFullyMaskedRowsAreZero() throws {
        let inf = Float.infinity
        let x = try Tensor(shape: [3, 4], storage: [0, -inf, 0, -inf,
                                                    -inf, -inf, -inf, -inf,
                                                    1, 2, -inf, 3])
        let y = Kernels.softmax(x)
        let reference = referenceSoftmax(x.doubles, columns: 4)
        #expect(Array(y.storage[0..<4]) == [0.5, 0, 0.5, 0])
        #expect(Array(y.storage[4..<8]) == [0, 0, 0, 0], "a fully masked row must be zeros, not NaN")
        let report = ErrorReport(Array(y.storage[8..<12]), Array(reference[8..<12]))
        #expect(report.relative < softmaxTolerance, "\(report)")
        #expect(y.storage[10] == 0)
    }

    @Test func nanOrInfinityPoisonsOnlyItsRow() throws {
        let x = try TestInputs.normal(shape: [3, 20], seed: 52)
        var poisoned = x.tensor
        poisoned[0, 3] = .nan
        poisoned[2, 17] = .infinity   // in the tail lanes (columns 16..<20)
        let y = Kernels.softmax(poisoned)
        #expect(y.storage[0..<20].allSatisfy { $0.isNaN })
        #expect(y.storage[40..<60].allSatisfy { $0.isNaN })
        let clean = Array(x.values[20..<40])
        let report = ErrorReport(Array(y.storage[20..<40]), referenceSoftmax(clean, columns: 20))
        #expect(report.relative < softmaxTolerance, "\(report)")
    }

    @Test func scalarAndEmptyShapes() throws {
        #expect(Kernels.softmax(try Tensor(repeating: 42, shape: [])).storage == [1])
        #expect(Kernels.softmax(try Tensor(zeros: [0, 5])).shape == [0, 5])
        #expect(Kernels.softmax(try Tensor(zeros: [3, 0])).shape == [3, 0])
    }

    @Test func pointerFormWorksInPlace() throws {
        let x = try TestInputs.normal(shape: [3, 21], seed: 53, standardDeviation: 3)
        var inPlace = x.tensor
        inPlace.withUnsafeMutableBufferPointer { buffer in
            Kernels.softmax(buffer.baseAddress!, into: buffer.baseAddress!, rows: 3, columns: 21)
        }
        #expect(inPlace == Kernels.softmax(x.tensor))
    }
}
