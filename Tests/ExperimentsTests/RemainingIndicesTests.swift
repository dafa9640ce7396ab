@testable import Experiments
import Testing

/// The sampler's index pool draws exactly what removing from an array draws, so seeded
/// `random:` sweeps pick the same runs as before it was made O(log n) per draw.
@Suite struct RemainingIndicesTests {
    @Test(arguments: [1, 2, 7, 64, 1000])
    func takingTheKthRemainingMatchesArrayRemoval(count: Int) {
        var pool = RemainingIndices(count: count)
        var array = Array(0..<count)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(count)
        while !array.isEmpty {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407   // Knuth's LCG
            let k = Int((state >> 33) % UInt64(array.count))
            #expect(pool.count == array.count)
            #expect(pool.take(k) == array.remove(at: k), "draw \(k) of \(array.count + 1)")
        }
        #expect(pool.count == 0)
    }
}
