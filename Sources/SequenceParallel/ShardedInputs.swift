import TensorCore

/// Seeded attention inputs that any rank can make for any tokens, without the others' data.
///
/// Each token's row of each tensor comes from its own generator, seeded from (seed, tensor,
/// token), so rank r's shard is the same numbers whatever P is, and a verifier can rebuild the
/// whole sequence.
public struct ShardedInputs: Sendable {
    /// The tensors of one attention problem.
    public enum Role: UInt64, Sendable {
        case query = 1, key = 2, value = 3, outputGradient = 4
    }

    public let seed: UInt64
    public let heads: Int
    public let keyHeads: Int
    public let headDimension: Int

    public init(seed: UInt64, heads: Int, keyHeads: Int, headDimension: Int) {
        self.seed = seed
        self.heads = heads
        self.keyHeads = keyHeads
        self.headDimension = headDimension
    }

    /// The rows of `role` for the tokens in `range`: `[range.count, heads, d]` (`keyHeads` for K and V).
    public func tensor(_ role: Role, tokens range: Range<Int>) -> Tensor {
        let width = (role == .key || role == .value ? keyHeads : heads) * headDimension
        var storage = [Float](repeating: 0, count: range.count * width)
        for (row, token) in range.enumerated() {
            var random = SeededRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ role.rawValue &* 0xD1B5_4A32_D192_ED03 &+ UInt64(token))
            for i in 0..<width { storage[row * width + i] = random.normal() }
        }
        return Tensor(unchecked: [range.count, width / headDimension, headDimension], storage: storage)
    }
}
