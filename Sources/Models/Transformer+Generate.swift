/// Greedy decoding with a KV cache (`DecodeSession`).
extension Transformer {
    /// The greedy continuation of `prompt`: up to `maxNewTokens` tokens, ending early after a
    /// token of `stopTokens` (which is kept) or when the context is full (the last token is the
    /// one predicted after the context's last position).
    /// - Throws: `ModelError` for an empty prompt, one longer than the context, a token outside
    ///   the vocabulary, a negative `maxNewTokens`, or a model `DecodeSession` refuses.
    public func generate(prompt: [Int32], maxNewTokens: Int, stopTokens: Set<Int32> = []) throws(ModelError) -> [Int32] {
        guard !prompt.isEmpty else { throw .input("the prompt is empty; give at least one token") }
        guard prompt.count <= config.context else {
            throw .input("the prompt has \(prompt.count) tokens but the model's context holds \(config.context)")
        }
        guard maxNewTokens >= 0 else { throw .input("maxNewTokens must be ≥ 0 (got \(maxNewTokens))") }
        let session = try DecodeSession(model: self)
        for token in prompt { try session.append(token) }
        var output: [Int32] = []
        while output.count < maxNewTokens {
            let next = session.greedyToken
            output.append(next)
            if stopTokens.contains(next) || session.position == config.context { break }
            try session.append(next)
        }
        return output
    }
}
