import Foundation
import TensorCore
import Testing
@testable import Models

/// The row kernels of causal attention against their definition, lane by lane: the vector code
/// must give exactly the bits of the arithmetic it documents (so a faster kernel changes no
/// result), and be near the float64 softmax.
@Suite struct CausalRowsTests {
    /// The documented arithmetic, one float at a time: m the visible maximum; e_j = exp(x_j − m)
    /// by `expNonPositive`; per-lane sums over j ≡ lane (mod 16) in order; the total by halves
    /// (8 + 8, 4 + 4, 2 + 2, then the two); then e_j·(1/total), zeros past `visible`.
    static func definition(_ row: [Float], visible: Int) -> (row: [Float], max: Float, sum: Float) {
        let m = row[..<visible].max()!
        var e = [Float](repeating: 0, count: row.count)
        var lanes = [Float](repeating: 0, count: 16)
        for j in 0..<visible {
            e[j] = CausalRows.expNonPositive(SIMD16(repeating: row[j] - m))[0]
            lanes[j % 16] += e[j]
        }
        let eight = (0..<8).map { lanes[$0] + lanes[$0 + 8] }, four = (0..<4).map { eight[$0] + eight[$0 + 4] }
        let two = (0..<2).map { four[$0] + four[$0 + 2] }, total = two[0] + two[1]
        let inverse = 1 / total
        return (e.enumerated().map { $0.offset < visible ? $0.element * inverse : 0 }, m, total)
    }

    /// The Swift kernel and the C ones (FusedKernels) this CPU runs, AVX2 and AVX-512, each called
    /// directly, whichever `CausalRows.softmax` dispatches to in this process.
    static var softmaxKernels: [(String, (UnsafeMutablePointer<Float>, Int, Int) -> (max: Float, sum: Float))] {
        var kernels: [(String, (UnsafeMutablePointer<Float>, Int, Int) -> (max: Float, sum: Float))] = [
            ("Swift", { CausalRows.portableSoftmax($0, visible: $1, length: $2) }),
            ("dispatched", { CausalRows.softmax($0, visible: $1, length: $2) }),
        ]
        for kernel in TileKernel.allCases where FusedKernels.runs(on: kernel) {
            kernels.append(("\(kernel.rawValue) C", { FusedKernels.softmaxRow($0, visible: $1, length: $2, kernel: kernel) }))
        }
        return kernels
    }

    @Test func softmaxIsItsDefinitionBitForBit() {
        for (name, softmax) in Self.softmaxKernels {
            var random = SeededRandom(seed: 3)
            for length in [1, 5, 16, 17, 40, 64, 100] {
                for visible in Set([1, 2, length / 2, length - 1, length].filter { $0 >= 1 && $0 <= length }) {
                    // Scores spread over ±30, and huge garbage past `visible` (the kernel must ignore it).
                    var row = (0..<length).map { j in j < visible ? random.uniform(in: -30..<30) : Float(1e30) }
                    let expected = Self.definition(row, visible: visible)
                    let (m, total) = row.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, visible, length) }
                    #expect(row == expected.row, "\(name): length \(length), visible \(visible)")
                    #expect(m == expected.max && total == expected.sum, "\(name)")
                }
            }
        }
    }

    /// Rows whose exponentials underflow, tie, or sit at the clamp: every kernel gives the same bits.
    @Test func softmaxKernelsAgreeOnEdgeRows() {
        let rows: [[Float]] = [
            [0, 0, 0, 0], [-0.0, 0, -0.0], [100, -100, 50, -87.33, -87.34, 0], [-1e30, 3, -1e30],
            (0..<70).map { Float($0 % 7) - 3 }, (0..<33).map { _ in 1e-30 }, [88, 87, -88, 1e-40, -1e-40],
        ]
        for values in rows {
            for visible in 1...values.count {
                let results = Self.softmaxKernels.map { _, softmax in
                    var row = values
                    let (m, total) = row.withUnsafeMutableBufferPointer { softmax($0.baseAddress!, visible, values.count) }
                    return (row.map(\.bitPattern), m.bitPattern, total.bitPattern)
                }
                for (index, result) in results.enumerated().dropFirst() {
                    #expect(result.0 == results[0].0 && result.1 == results[0].1 && result.2 == results[0].2,
                            "\(Self.softmaxKernels[index].0) vs Swift: \(values.prefix(8)), visible \(visible)")
                }
            }
        }
    }

    @Test func softmaxIsNearTheFloat64Softmax() {
        var random = SeededRandom(seed: 4)
        for (length, visible) in [(64, 1), (64, 33), (64, 64), (17, 17), (40, 23)] {
            let scores = (0..<length).map { _ in random.uniform(in: -10..<10) }
            var row = scores
            row.withUnsafeMutableBufferPointer { _ = CausalRows.softmax($0.baseAddress!, visible: visible, length: length) }
            let m = scores[..<visible].map(Double.init).max()!
            let exps = (0..<visible).map { exp(Double(scores[$0]) - m) }, z = exps.reduce(0, +)
            let reference = (0..<length).map { $0 < visible ? exps[$0] / z : 0 }
            let difference = zip(row, reference).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
            let norm = reference.map { $0 * $0 }.reduce(0, +).squareRoot()
            #expect(difference / norm <= 1e-6, "length \(length), visible \(visible): \(difference / norm)")
            #expect(row[visible...].allSatisfy { $0 == 0 })
        }
    }

    @Test func reluIsItsDefinitionBitForBit() {
        var random = SeededRandom(seed: 5)
        for (length, visible) in [(64, 1), (64, 20), (64, 64), (17, 17), (40, 33), (3, 2)] {
            var row = (0..<length).map { _ in random.uniform(in: -2..<2) }
            let inverse = 1 / Float(visible)
            let expected = row.enumerated().map { $0.offset < visible ? Swift.max($0.element, 0) * inverse : 0 }
            row.withUnsafeMutableBufferPointer { CausalRows.relu($0.baseAddress!, visible: visible, length: length) }
            #expect(row == expected, "length \(length), visible \(visible)")
        }
    }
}
