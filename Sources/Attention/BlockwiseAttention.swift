import Foundation
import TensorCore

/// Exact attention computed block by block with an online softmax (flash-attention style).
///
/// Shapes, with n queries, m keys, H query heads, Hkv key/value heads and head dimension d:
/// query `[n, H, d]`, key and value `[m, Hkv, d]`, H a multiple of Hkv (grouped-query attention:
/// query head h reads key/value head h / (H / Hkv)). Scores are `s = scale · q·k` with
/// scale 1/√d unless given. Memory is O(n·d): no n×m matrix is formed; each thread holds one
/// `queryBlock × keyBlock` score tile (backward) or a 6-row strip of one (forward), and the
/// forward pass keeps one packed copy of the keys and values.
public struct BlockwiseAttention: Sendable {
    /// Which keys each query sees.
    public var mask: AttentionMask
    /// How scores become weights.
    public var score: ScoreFunction
    /// The score scale; nil means 1/√d.
    public var scale: Float?
    /// Worker threads; 0 means one per active core.
    public var threads: Int
    /// Query rows per tile; nil picks the tuned default of each pass.
    public var queryBlock: Int?
    /// Key rows per tile; nil picks the tuned default of each pass.
    public var keyBlock: Int?

    /// An attention operator.
    public init(mask: AttentionMask = .none, score: ScoreFunction = .softmax, scale: Float? = nil,
                threads: Int = 0, queryBlock: Int? = nil, keyBlock: Int? = nil) {
        self.mask = mask
        self.score = score
        self.scale = scale
        self.threads = threads
        self.queryBlock = queryBlock
        self.keyBlock = keyBlock
    }
}

extension BlockwiseAttention {
    /// The forward pass works in strips of 6 query rows (`MicroKernel`): the query block sets the
    /// work item (384 rows: 22 blocks per head at n = 8192, enough to balance 2 threads), the key
    /// tile how many packed keys and values the strips reuse from L2 (2·512·d floats, 256 KB at
    /// d = 64) and how often a row's maximum is checked. Chosen with OpenBLAS products in a sweep
    /// at n = m = 8192, d = 64 (BENCHMARKS.md); with the micro-kernel, key tiles of 256 and 512
    /// ran equal within noise at d = 128 on one thread (0.88–0.90 of sgemm).
    static let forwardBlocks = (query: 384, key: 512)
    /// The backward pass keeps two tiles (P and dS) and two key-block accumulators per thread.
    /// 384 × 384 ran 2–6 % ahead of 512 × 256 (as a fraction of sgemm in the same run) at
    /// n = 8192, d = 64 and 128, causal and not, on the AVX-512 tile (Zen 4, BENCHMARKS.md).
    static let backwardBlocks = (query: 384, key: 384)

    /// The forward pass's tile (query rows × key rows) when none is given.
    public static var defaultForwardBlocks: (query: Int, key: Int) { forwardBlocks }
    /// The backward pass's tile (query rows × key rows) when none is given.
    public static var defaultBackwardBlocks: (query: Int, key: Int) { backwardBlocks }

    var forwardQueryBlock: Int { queryBlock ?? Self.forwardBlocks.query }
    var forwardKeyBlock: Int { keyBlock ?? Self.forwardBlocks.key }
    var backwardQueryBlock: Int { queryBlock ?? Self.backwardBlocks.query }
    var backwardKeyBlock: Int { keyBlock ?? Self.backwardBlocks.key }
}

/// Gradients of a scalar loss with respect to the inputs of attention.
public struct AttentionGradients: Sendable, Equatable {
    /// `[n, H, d]`
    public var query: Tensor
    /// `[m, Hkv, d]`
    public var key: Tensor
    /// `[m, Hkv, d]`
    public var value: Tensor

    public init(query: Tensor, key: Tensor, value: Tensor) {
        self.query = query
        self.key = key
        self.value = value
    }
}

/// The checked extents of one attention call.
public struct AttentionShape: Sendable, Equatable {
    public var queries: Int, keys: Int, heads: Int, keyHeads: Int, headDimension: Int

    /// Checks q `[n, H, d]`, k and v `[m, Hkv, d]` with H a multiple of Hkv.
    public init(query: [Int], key: [Int], value: [Int]) throws(AttentionError) {
        guard query.count == 3 else {
            throw .shape("query has shape \(Tensor.describe(query)); expected [n, H, d] (key is \(Tensor.describe(key)), value \(Tensor.describe(value)))")
        }
        guard key.count == 3, value.count == 3 else {
            throw .shape("key \(Tensor.describe(key)) and value \(Tensor.describe(value)) must be [m, Hkv, d]")
        }
        guard key == value else {
            throw .shape("key \(Tensor.describe(key)) and value \(Tensor.describe(value)) must have the same shape [m, Hkv, d]")
        }
        guard query[2] == key[2] else {
            throw .shape("head dimension of query \(Tensor.describe(query)) and key \(Tensor.describe(key)) differ (\(query[2]) vs \(key[2]))")
        }
        guard key[1] > 0, query[1] % key[1] == 0 else {
            throw .shape("query heads H = \(query[1]) (query \(Tensor.describe(query))) must be a multiple of key/value heads Hkv = \(key[1]) (key \(Tensor.describe(key)))")
        }
        guard query[2] > 0 else { throw .shape("head dimension must be at least 1, got query \(Tensor.describe(query))") }
        queries = query[0]; heads = query[1]; headDimension = query[2]
        keys = key[0]; keyHeads = key[1]
    }

    /// Query heads per key/value head.
    public var groupSize: Int { heads / keyHeads }
}
