import Foundation
import Testing
import TensorCore

/// Floats that a writer or reader could mangle: signed zero, the extremes, subnormals, infinities
/// and a NaN with a payload. `.npy` stores raw IEEE bits, so every one must survive exactly.
private let awkwardFloats: [Float] = [
    0, -0.0, 1, -1.5, .pi, .ulpOfOne, .leastNormalMagnitude, .leastNonzeroMagnitude,
    -.greatestFiniteMagnitude, .infinity, -.infinity, Float(bitPattern: 0x7FC0_1234), 1e-20, 65_504,
]

/// Compares bit patterns, so NaN and −0 count as themselves.
private func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

@Suite struct NPYTests {
    @Test(arguments: [[], [1], [14], [2, 7], [7, 1, 2], [2, 0, 3]] as [[Int]])
    func float32RoundTripsThroughBytesExactly(_ shape: [Int]) throws {
        let count = shape.reduce(1, *)
        let storage = (0..<count).map { awkwardFloats[$0 % awkwardFloats.count] }
        let tensor = try Tensor(shape: shape, storage: storage)
        let decoded = try Tensor(npyBytes: tensor.npyBytes())
        #expect(decoded.shape == shape)
        #expect(bits(decoded.storage) == bits(storage))
    }

    @Test func float32TensorWrittenAsFloat64WidensExactly() throws {
        let tensor = try Tensor(shape: [2, 7], storage: awkwardFloats)
        let bytes = tensor.npyBytes(as: .float64)
        let array = try NPYArray(npyBytes: bytes)
        #expect(array.dataType == .float64)
        #expect(array.shape == [2, 7])
        // Every float32 is exactly a float64; NaN is compared by being NaN.
        for (value, original) in zip(array.values, awkwardFloats) {
            #expect(value.isNaN ? original.isNaN : value == Double(original), "\(original) became \(value)")
        }
        // Narrowing back is exact too (NaN payloads aside, which float64 → float32 may change).
        let back = try Tensor(npyBytes: bytes)
        for (value, original) in zip(back.storage, awkwardFloats) {
            #expect(value.isNaN ? original.isNaN : value.bitPattern == original.bitPattern)
        }
    }

    @Test func float64RoundTripsThroughNPYArrayExactly() throws {
        let values: [Double] = [0.1, 1.0 / 3, -0.0, 1e300, -1e-300, .leastNonzeroMagnitude, .pi, 12_345_678.9]
        let array = try NPYArray(shape: [2, 4], values: values)
        #expect(array.dataType == .float64)
        let decoded = try NPYArray(npyBytes: array.npyBytes())
        #expect(decoded.shape == [2, 4])
        #expect(decoded.values.map(\.bitPattern) == values.map(\.bitPattern))
        // A float32 tensor rounds each value to nearest, as Float(_:) does (1e300 → ∞).
        let tensor = try Tensor(npyBytes: array.npyBytes())
        #expect(bits(tensor.storage) == bits(values.map { Float($0) }))
    }

    @Test func npyArrayWrittenAsFloat32Rounds() throws {
        let values: [Double] = [0.1, 1.0 / 3, 16_777_217, -2.5]
        let array = try NPYArray(shape: [4], values: values, dataType: .float32)
        let decoded = try NPYArray(npyBytes: array.npyBytes())
        #expect(decoded.dataType == .float32)
        #expect(decoded.values == values.map { Double(Float($0)) })
        #expect(decoded.values != values, "0.1, 1/3 and 2²⁴ + 1 are not float32 values")
    }

    @Test func zeroDimensionalArray() throws {
        let scalar = try Tensor(repeating: 3.5, shape: [])
        let decoded = try Tensor(npyBytes: scalar.npyBytes())
        #expect(decoded.shape == [])
        #expect(decoded.storage == [3.5])
        let array = try NPYArray(npyBytes: scalar.npyBytes(as: .float64))
        #expect(array.shape == [] && array.values == [3.5])
    }

    @Test func roundTripsThroughFiles() throws {
        try TestInputs.withTemporaryDirectory { directory in
            let tensor = try TestInputs.normal(shape: [3, 5, 2], seed: 91).tensor
            let path32 = directory + "/tensor32.npy"
            try tensor.writeNPY(toFile: path32)
            #expect(try Tensor(contentsOfNPYFile: path32) == tensor)
            // The file holds exactly the bytes npyBytes describes.
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path32))) == tensor.npyBytes())

            let path64 = directory + "/tensor64.npy"
            try tensor.writeNPY(toFile: path64, as: .float64)
            let array = try NPYArray(contentsOfFile: path64)
            #expect(array.dataType == .float64)
            #expect(array.values == tensor.storage.map(Double.init))
            #expect(try Tensor(contentsOfNPYFile: path64) == tensor)

            let values = [0.1, 0.2, 0.3, Double.leastNormalMagnitude / 1024]  // a subnormal
            let path = directory + "/array.npy"
            try NPYArray(shape: [2, 2], values: values).write(toFile: path)
            #expect(try NPYArray(contentsOfFile: path).values == values)
        }
    }

    @Test func writingReplacesALongerFile() throws {
        // Without truncation the old tail would follow the new data ("unexpected bytes after the data").
        try TestInputs.withTemporaryDirectory { directory in
            let path = directory + "/replaced.npy"
            try Tensor(repeating: 1, shape: [1000]).writeNPY(toFile: path)
            let small = try Tensor(shape: [2], storage: [4, 5])
            try small.writeNPY(toFile: path)
            #expect(try Tensor(contentsOfNPYFile: path) == small)
        }
    }

    @Test func errorsFromFilesNameThePath() throws {
        try TestInputs.withTemporaryDirectory { directory in
            let path = directory + "/truncated.npy"
            let bytes = try Tensor(repeating: 1, shape: [4]).npyBytes()
            try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: TensorError.self) { try Tensor(contentsOfNPYFile: path) }
            #expect(error?.description.hasPrefix("\(path): not a readable .npy file: truncated data") == true,
                    "\(String(describing: error))")
            let arrayError = #expect(throws: TensorError.self) { try NPYArray(contentsOfFile: path) }
            #expect(arrayError == error)
        }
    }

    @Test func missingFilesAndDirectoriesThrowIOErrors() throws {
        try TestInputs.withTemporaryDirectory { directory in
            let missing = directory + "/missing.npy"
            let readError = #expect(throws: TensorError.self) { try Tensor(contentsOfNPYFile: missing) }
            guard case let .io(path, reason)? = readError else {
                Issue.record("expected TensorError.io, got \(String(describing: readError))")
                return
            }
            #expect(path == missing)
            #expect(reason.hasPrefix("cannot open for reading: ") && reason.contains("(errno \(ENOENT))"), "\(reason)")

            let nowhere = directory + "/no/such/dir/out.npy"
            let writeError = #expect(throws: TensorError.self) { try Tensor(zeros: [2]).writeNPY(toFile: nowhere) }
            #expect(writeError?.description.hasPrefix("\(nowhere): cannot open for writing: ") == true,
                    "\(String(describing: writeError))")
            let arrayWriteError = #expect(throws: TensorError.self) {
                try NPYArray(shape: [1], values: [1]).write(toFile: nowhere)
            }
            #expect(arrayWriteError == writeError)

            // A directory opens for reading on Linux, then read(2) fails with EISDIR.
            let directoryError = #expect(throws: TensorError.self) { try NPYArray(contentsOfFile: directory) }
            #expect(directoryError?.description.contains("(errno \(EISDIR))") == true,
                    "\(String(describing: directoryError))")
        }
    }

    @Test func npyArrayRejectsValuesThatDoNotFillTheShape() {
        let short = #expect(throws: TensorError.self) { try NPYArray(shape: [2, 2], values: [1, 2, 3]) }
        #expect(short?.description == "invalid shape: shape [2, 2] does not hold the 3 values given")
        let negative = #expect(throws: TensorError.self) { try NPYArray(shape: [-2, -2], values: [1, 2, 3, 4]) }
        #expect(negative?.description == "invalid shape: negative extent -2 in shape [-2, -2]")
        // 2³²·2³² overflows Int: it must not wrap to 0 and accept no values.
        let overflow = #expect(throws: TensorError.self) { try NPYArray(shape: [1 << 32, 1 << 32], values: []) }
        #expect(overflow?.description.contains("[4294967296, 4294967296]") == true)
    }
}
