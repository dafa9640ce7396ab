@testable import Attention
import TensorCore
import Testing

/// The score tiles' row passes (maximum, exponentiate) in C on AVX-512 give the bits of the Swift
/// path, on every split of a row into 32- and 16-lane steps and a tail, with −∞, NaN, −0 and
/// scores far below the shift among the values.
@Suite("Row kernels: AVX-512 and Swift give the same bits")
struct RowKernelTests {
    /// A row of `width` scores from a seeded generator, with special values at fixed places.
    static func row(width: Int, seed: UInt64) -> [Float] {
        var random = SeededRandom(seed: seed)
        var values = (0..<width).map { _ in random.normal(mean: 0, standardDeviation: 3) }
        let specials: [Float] = [-.infinity, .nan, -0.0, -200, 7.5, -87.5, 0]
        for (index, value) in specials.enumerated() where width > 20 {
            values[(index * 11 + Int(seed) * 3) % width] = value
        }
        return values
    }

    static let bounds: [(width: Int, lo: Int, hi: Int)] = {
        var cases: [(Int, Int, Int)] = []
        for width in [1, 15, 16, 17, 31, 32, 33, 47, 48, 64, 80, 127, 384] {
            for (lo, hi) in [(0, width), (0, width / 2), (width / 3, width), (width / 4, width - width / 5), (0, 1), (width - 1, width)]
            where lo < hi && hi <= width {
                cases.append((width, lo, hi))
            }
        }
        return cases
    }()

    @Test(.enabled(if: TileKernel.avx512.isSupported))
    func maximumAndExponentiateMatchBitForBit() {
        for (index, c) in Self.bounds.enumerated() {
            for withSpecials in [false, true] {
                var values = Self.row(width: c.width, seed: UInt64(index))
                if !withSpecials { values = values.map { $0.isFinite && $0 > -50 ? $0 : 1.25 } }
                let swiftMax = values.withUnsafeBufferPointer { TileKernels.maximum($0.baseAddress!, c.lo, c.hi, kernel: .avx2) }
                let cMax = values.withUnsafeBufferPointer { TileKernels.maximum($0.baseAddress!, c.lo, c.hi, kernel: .avx512) }
                #expect(swiftMax.bitPattern == cMax.bitPattern, "maximum on \(c), specials \(withSpecials): \(swiftMax) vs \(cMax)")

                // The shift of the forward pass: the row's maximum (finite here), or one below it
                // by up to the lazy rescaling's threshold, or a NaN maximum passed on as is.
                for shift in [swiftMax, swiftMax - 6, 0.5] {
                    var swiftRow = values, cRow = values
                    let swiftSum = swiftRow.withUnsafeMutableBufferPointer {
                        TileKernels.exponentiate($0.baseAddress!, width: c.width, c.lo, c.hi, shift: shift, kernel: .avx2)
                    }
                    let cSum = cRow.withUnsafeMutableBufferPointer {
                        TileKernels.exponentiate($0.baseAddress!, width: c.width, c.lo, c.hi, shift: shift, kernel: .avx512)
                    }
                    #expect(swiftSum.bitPattern == cSum.bitPattern, "sum on \(c), shift \(shift): \(swiftSum) vs \(cSum)")
                    #expect(swiftRow.map(\.bitPattern) == cRow.map(\.bitPattern), "row on \(c), shift \(shift)")
                    if !withSpecials && shift == swiftMax {
                        // And the values are the exponentials: max at most 1, masked columns 0.
                        #expect(cRow.enumerated().allSatisfy { ($0.offset >= c.lo && $0.offset < c.hi) || $0.element == 0 })
                        #expect(cRow.allSatisfy { $0 >= 0 && $0 <= 1 })
                    }
                }
            }
        }
    }
}
