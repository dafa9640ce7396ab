import SequenceParallel
import Testing
import TensorCore

/// The exchanges' slicing and stacking (`rows`, `heads`, `concatenatingRows`,
/// `concatenatingHeads`) against their definitions, element by element, on 3-axis and 2-axis
/// tensors, with empty pieces.
@Suite struct TensorSlicingTests {
    static func tensor(_ shape: [Int], seed: Int) -> Tensor {
        Tensor(unchecked: shape, storage: (0..<shape.reduce(1, *)).map { Float($0 * 7 + seed) / 8 })
    }

    @Test(arguments: [[5, 4, 3], [6, 3], [1, 2, 16], [0, 4, 2]])
    func headsAndRowsAreTheirDefinitions(shape: [Int]) {
        let t = Self.tensor(shape, seed: 1), n = shape[0], h = shape[1], d = shape.count == 3 ? shape[2] : 1
        for range in [0..<h, 1..<h, 0..<1, h - 1..<h, 2..<2] where range.upperBound <= h {
            let part = t.heads(range)
            #expect(part.shape == [n, range.count] + shape.dropFirst(2))
            for row in 0..<n { for (index, head) in range.enumerated() { for i in 0..<d {
                #expect(part.storage[(row * range.count + index) * d + i] == t.storage[(row * h + head) * d + i])
            } } }
        }
        for range in [0..<n, 0..<0, (n > 1 ? 1 : 0)..<n] {
            let part = t.rows(range)
            #expect(part.shape == [range.count] + shape.dropFirst())
            #expect(part.storage == Array(t.storage[(range.lowerBound * h * d)..<(range.upperBound * h * d)]))
        }
    }

    @Test func stackingInvertsSlicing() {
        let t = Self.tensor([7, 6, 5], seed: 3)
        let byHeads = [t.heads(0..<2), t.heads(2..<2), t.heads(2..<5), t.heads(5..<6)]
        #expect(Tensor.concatenatingHeads(byHeads) == t)
        let byRows = [t.rows(0..<3), t.rows(3..<3), t.rows(3..<7)]
        #expect(Tensor.concatenatingRows(byRows) == t)
        let lse = Self.tensor([4, 6], seed: 5)
        #expect(Tensor.concatenatingHeads([lse.heads(0..<3), lse.heads(3..<6)]) == lse)
        #expect(Tensor.concatenatingRows([lse.rows(0..<1), lse.rows(1..<4)]) == lse)
    }
}
