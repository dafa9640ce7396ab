import Foundation
import NumericTestSupport
import TensorCore

/// Seeded float32 inputs and scratch directories shared by the TensorCore tests.
enum TestInputs {
    /// A tensor of normal draws rounded to float32, and the same numbers as float64.
    ///
    /// The float64 copy holds exactly what the float32 kernel reads, so a comparison against a
    /// float64 reference measures only the kernel's own rounding.
    /// - Complexity: O(count).
    static func normal(shape: [Int], seed: UInt64, mean: Double = 0,
                       standardDeviation: Double = 1) throws -> (tensor: Tensor, values: [Double]) {
        var random = TestRandom(seed: seed)
        let values = random.float32Normals(count: shape.reduce(1, *), mean: mean,
                                           standardDeviation: standardDeviation)
        return (try Tensor(shape: shape, storage: values.map(Float.init)), values)
    }

    /// Calls `body` with the path of a fresh directory under the system's temporary directory,
    /// and removes the directory when `body` returns or throws.
    static func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("loom-tensorcore-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url.path)
    }
}

extension Tensor {
    /// The elements widened to float64 (exact).
    var doubles: [Double] { storage.map(Double.init) }
}
