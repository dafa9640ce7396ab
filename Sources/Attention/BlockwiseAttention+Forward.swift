import TensorCore

extension BlockwiseAttention {
    /// Attention of `query` over `key`/`value`: returns `(output [n, H, d], logSumExp [n, H])`.
    /// - Throws: `AttentionError.shape` naming both shapes when they do not fit.
    public func forward(query: Tensor, key: Tensor, value: Tensor) throws(AttentionError) -> PartialAttention {
        throw .parameter("blockwise forward: being built")
    }
}
