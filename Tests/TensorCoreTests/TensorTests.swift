import Testing
import TensorCore

/// A shape with the strides and element count row-major storage gives it.
struct StrideCase: Sendable, CustomTestStringConvertible {
    var shape: [Int]
    var strides: [Int]
    var count: Int
    var testDescription: String { Tensor.describe(shape) }
}

@Suite struct TensorTests {
    @Test(arguments: [
        StrideCase(shape: [], strides: [], count: 1),                  // a scalar holds one element
        StrideCase(shape: [5], strides: [1], count: 5),
        StrideCase(shape: [2, 3], strides: [3, 1], count: 6),
        StrideCase(shape: [2, 3, 4], strides: [12, 4, 1], count: 24),
        StrideCase(shape: [4, 1, 3, 2], strides: [6, 6, 2, 1], count: 24),
        StrideCase(shape: [3, 0, 2], strides: [0, 2, 1], count: 0),    // an empty axis empties the tensor
    ])
    func shapeStridesAndCount(_ c: StrideCase) throws {
        let zeros = try Tensor(zeros: c.shape)
        #expect(zeros.shape == c.shape)
        #expect(zeros.rank == c.shape.count)
        #expect(zeros.strides == c.strides)
        #expect(zeros.count == c.count)
        #expect(zeros.storage.allSatisfy { $0 == 0 })

        let filled = try Tensor(repeating: 2.5, shape: c.shape)
        #expect(filled.count == c.count)
        #expect(filled.storage.allSatisfy { $0 == 2.5 })
        #expect(Tensor(uncheckedZeros: c.shape) == zeros)
    }

    @Test func subscriptIsRowMajor() throws {
        let t = try Tensor(shape: [2, 3, 4], storage: (0..<24).map(Float.init))
        // Element (i, j, k) sits at i·12 + j·4 + k: the last axis varies fastest.
        for i in 0..<2 {
            for j in 0..<3 {
                for k in 0..<4 {
                    #expect(t[i, j, k] == Float(i * 12 + j * 4 + k))
                }
            }
        }
        var u = t
        u[1, 2, 3] = -1
        #expect(u.storage[23] == -1)
        #expect(t.storage[23] == 23, "writing a copy must not change the original (copy on write)")
    }

    @Test func reshapedKeepsTheElementsInOrder() throws {
        let t = try Tensor(shape: [2, 3, 4], storage: (0..<24).map(Float.init))
        let r = try t.reshaped([6, 4])
        #expect(r.shape == [6, 4])
        #expect(r.strides == [4, 1])
        #expect(r.storage == t.storage)
        #expect(r[4, 1] == 17)
        #expect(try t.reshaped([24]).shape == [24])
        #expect(try Tensor(repeating: 7, shape: [1, 1]).reshaped([]).shape == [])
        #expect(try Tensor(zeros: [0, 5]).reshaped([5, 0, 3]).shape == [5, 0, 3])
    }

    @Test func reshapeToAnotherCountNamesBothShapes() throws {
        let t = try Tensor(zeros: [2, 3])
        let error = #expect(throws: TensorError.self) { try t.reshaped([4, 2]) }
        #expect(error == .shapeMismatch(operation: "reshape", [2, 3], [4, 2]))
        #expect(error?.description == "reshape: shapes [2, 3] and [4, 2] do not fit")
    }

    @Test func reshapeToNegativeExtentsThrows() throws {
        // [-2, -3] has the right product (6), so only the extent check can catch it.
        let t = try Tensor(zeros: [2, 3])
        let error = #expect(throws: TensorError.self) { try t.reshaped([-2, -3]) }
        #expect(error?.description == "invalid shape: negative extent -2 in shape [-2, -3]")
    }

    @Test func storageThatDoesNotFillTheShapeNamesShapeAndCount() {
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5]) }
        #expect(error?.description == "invalid shape: shape [2, 3] holds 6 elements, but 5 were given")
    }

    @Test(arguments: [[-1], [2, -3], [0, -1]])
    func negativeExtentsThrow(_ shape: [Int]) {
        let bad = shape.first { $0 < 0 }!
        let expected = "invalid shape: negative extent \(bad) in shape \(Tensor.describe(shape))"
        let zeros = #expect(throws: TensorError.self) { try Tensor(zeros: shape) }
        let filled = #expect(throws: TensorError.self) { try Tensor(repeating: 1, shape: shape) }
        let wrapped = #expect(throws: TensorError.self) { try Tensor(shape: shape, storage: []) }
        #expect(zeros?.description == expected)
        #expect(filled?.description == expected)
        #expect(wrapped?.description == expected)
    }

    @Test func overflowingShapesThrow() {
        // 2³² · 2³² wraps to 0 in unchecked Int arithmetic; such a shape must not pass as an empty tensor.
        let huge = [1 << 32, 1 << 32]
        let expected = "invalid shape: shape [4294967296, 4294967296] has more elements than an Int can count"
        let wrapped = #expect(throws: TensorError.self) { try Tensor(shape: huge, storage: []) }
        #expect(wrapped?.description == expected)
        let zeros = #expect(throws: TensorError.self) { try Tensor(zeros: huge) }
        #expect(zeros?.description == expected)
        let empty = Tensor(uncheckedZeros: [0])
        let reshaped = #expect(throws: TensorError.self) { try empty.reshaped(huge) }
        #expect(reshaped?.description == expected)
        // An empty axis makes the count 0 however large the others are.
        #expect(throws: Never.self) { try Tensor(zeros: [0, 1 << 32, 1 << 32]) }
    }

    @Test func descriptionsNameTheShape() throws {
        #expect(Tensor.describe([]) == "[]")
        #expect(Tensor.describe([7]) == "[7]")
        #expect(try Tensor(zeros: [2, 3, 4]).description == "Tensor[2, 3, 4]")
    }

    @Test func errorDescriptions() {
        #expect(TensorError.npy(path: "a.npy", reason: "bad magic").description
                    == "a.npy: not a readable .npy file: bad magic")
        #expect(TensorError.io(path: "/x", reason: "cannot open").description == "/x: cannot open")
    }
}
