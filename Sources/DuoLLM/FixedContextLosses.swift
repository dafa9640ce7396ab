import Models

/// `CE_fc[r, t]`, the `fixed_context` reading: the loss at token t when token t takes route r at
/// every layer and every other token takes the default route. Causal attention makes the tokens
/// after t irrelevant and those before t the default run's, so the default route runs once (its
/// keys and values kept) and each route then costs one pass in which every token attends to the
/// default run's keys and values before it and to its own at its position
/// (`Transformer.fixedContextForward`); routes sharing a prefix share its layers as in
/// `RouteLosses.evaluate` (`RouteWalk` on the staged pass). The result is a `RouteLosses` of the
/// same layout as the `shared_route` matrix, so the same summaries apply.
public enum FixedContextLosses {
    /// Evaluates routes `first ..< first + count` of `routes` in the `fixed_context` reading.
    ///
    /// Each row depends only on the model, the batch, the default route and its own route, so a
    /// slice's rows are bit-identical to the same rows of the whole set.
    /// - Parameters:
    ///   - defaultRoute: the context tokens' route, one choice per layer.
    ///   - sharing: share route prefixes (the default); false runs one full pass per route, with the same bits.
    /// - Throws: `ModelError` for a model without duo layers, a route set
    ///   of another depth, a default route of another length, a slice outside the set, or a batch
    ///   the model refuses.
    /// On a model of several threads the routes are cut into parts run at once on replicas
    /// (`RouteParallel`), with the same bits.
    /// - Complexity: 1 + count forward passes of the batch without sharing; far fewer layers with it.
    public static func evaluate(_ model: Transformer, batch: TrainingBatch, routes: RouteSet, defaultRoute: [DuoRoute],
                                first: Int = 0, count: Int? = nil, sharing: Bool = true,
                                shouldStop: () -> Bool = { false }) throws(ModelError) -> RouteLosses {
        guard model.config.hasDuoLayers else {
            throw .configuration("no layer of this model is a duo layer, so it has no routes; train it with train.duo")
        }
        guard routes.layers == model.config.depth, defaultRoute.count == routes.layers else {
            throw .configuration("the route set has \(routes.layers) layers and the default route \(defaultRoute.count), but the model has \(model.config.depth)")
        }
        let count = count ?? routes.count - first
        guard first >= 0, count >= 1, first + count <= routes.count else {
            throw .configuration("routes \(first) ..< \(first + count) are outside the \(routes.count) routes (0 ..< \(routes.count))")
        }
        guard batch.length == model.config.context else {
            throw .input("the evaluation batch has sequences of \(batch.length) but the model's context is \(model.config.context)")
        }
        let n = batch.size * batch.length
        defer { model.routes = nil }
        model.routes = DuoRoutes(uniform: defaultRoute, tokens: n)
        let context = try model.attentionContext(tokens: batch.inputs, targets: batch.targets, batch: batch.size)
        model.routes = nil
        var values = [Float](repeating: 0, count: count * n)
        let parts = model.hooks.isEnabled ? 1 : RouteParallel.parts(threads: model.threads, count: count)
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
            let output = buffer.baseAddress!
            if parts == 1 {
                try walk(model, context: context, routes: routes, slice: first..<(first + count), sharing: sharing, tokens: n,
                         into: output, shouldStop: shouldStop)
            } else {
                try RouteParallel.run(model, first: first, count: count, tokens: n, parts: parts, values: output,
                                      shouldStop: shouldStop) { replica, part, values, stop throws(ModelError) in
                    try walk(replica, context: context, routes: routes, slice: part, sharing: sharing, tokens: n, into: values,
                             shouldStop: stop)
                }
            }
        }
        return RouteLosses(routes: routes, first: first, count: count, tokens: n, values: values)
    }

    /// `slice` on `model` (one thread) from the default run's `context`; row r of the slice goes
    /// to `output + (r − slice.lowerBound)·tokens`.
    static func walk(_ model: Transformer, context: AttentionContext, routes: RouteSet, slice: Range<Int>, sharing: Bool,
                     tokens n: Int, into output: UnsafeMutablePointer<Float>, shouldStop: () -> Bool) throws(ModelError) {
        var done = 0
        try model.beginStagedFixedContext(context)
        for step in RouteWalk(routes: routes, first: slice.lowerBound, count: slice.count, sharing: sharing) {
            switch step {
            case let .attention(layer):
                if shouldStop() { throw .input("the fixed_context oracle was stopped after \(done) of \(slice.count) routes") }
                model.stagedFixedContextAttention(layer: layer, context: context)
            case let .ffn(layer, route):
                model.stagedFFN(layer: layer, route: route)
            case let .loss(route):
                _ = model.stagedLoss(positionLosses: output + (route - slice.lowerBound) * n)
                done += 1
            }
        }
    }
}
