import TensorCore

/// A forward pass taken one step at a time, for evaluations that share their first layers: the
/// Duo-LLM oracle walks its route tree depth first, running layer l's attention once per
/// distinct prefix of l choices and its FFN once per prefix of l + 1, instead of every layer of
/// every route. Each step reads the stream the step before it left in the arena (one stream per
/// depth) and overwrites only deeper ones, so after `stagedFFN(layer: l, …)` the streams of
/// layers ≤ l stay valid for any later choice at a deeper layer. The steps are `forward`'s own,
/// so a route taken this way gives the same bits as `forward` with that route for every token.
/// `interventions` and `hooks` apply as in `forward`; `routes` are ignored (each FFN step names
/// its route). `backward` after a staged pass is not supported.
extension Transformer {
    /// Checks the batch like `forward` (tokens, targets, batch size, interventions) and computes
    /// the embedding, the stream every route starts from.
    /// - Throws: `ModelError.input` as `forward` does.
    public func beginStagedForward(tokens: [Int32], targets: [Int32], batch: Int) throws(ModelError) {
        try prepareForward(tokens: tokens, targets: targets, batch: batch, checksRoutes: false)
        pass { embedStep(batch: batch) }
        stagedStreams = 1
    }

    /// Layer `l`'s attention on the stream the layers before it left.
    /// - Precondition: `beginStagedForward` ran, and so did `stagedFFN` of layer l − 1 (if l > 0)
    ///   since the last forward.
    public func stagedAttention(layer l: Int) {
        precondition((0..<config.depth).contains(l) && stagedStreams >= 2 * l + 1,
                     "stagedAttention(layer: \(l)) needs beginStagedForward and the FFN of every earlier layer first")
        pass { attentionStep(layer: l, batch: lastBatch!) }
        stagedStreams = 2 * l + 2
    }

    /// Layer `l`'s FFN with every token on `route` (ignored unless the layer is a duo layer).
    /// - Precondition: `stagedAttention(layer: l)` ran since the last forward.
    public func stagedFFN(layer l: Int, route: DuoRoute) {
        precondition((0..<config.depth).contains(l) && stagedStreams >= 2 * l + 2,
                     "stagedFFN(layer: \(l)) needs stagedAttention(layer: \(l)) first")
        pass { ffnStep(layer: l, batch: lastBatch!, uniform: route) }
        stagedStreams = 2 * l + 3
    }

    /// The head on the last layer's stream: the mean loss over targets ≥ 0, and each position's
    /// loss in `positionLosses` (batch·context floats) when given.
    /// - Precondition: every layer's FFN ran since `beginStagedForward`.
    public func stagedLoss(positionLosses: UnsafeMutablePointer<Float>? = nil) -> Float {
        precondition(stagedStreams >= 2 * config.depth + 1, "stagedLoss needs the FFN of every layer first")
        let batch = lastBatch!
        let loss = pass { headStep(batch: batch) }
        if let positionLosses { positionLosses.update(from: arena.losses, count: batch * config.context) }
        return loss
    }
}
