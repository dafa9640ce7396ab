import TensorCore

extension BlockwiseAttention {
    /// Gradients of a loss with respect to query, key and value, given `∂L/∂output`.
    /// - Parameters:
    ///   - result: the forward pass's `(output, logSumExp)` for these inputs.
    ///   - outputGradient: `[n, H, d]`.
    public func backward(query: Tensor, key: Tensor, value: Tensor, result: PartialAttention,
                         outputGradient: Tensor) throws(AttentionError) -> AttentionGradients {
        throw .parameter("blockwise backward: being built")
    }
}
