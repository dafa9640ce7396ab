import Models
import TensorCore

/// `CE[r, t]`: the cross-entropy of each evaluation token t under each route r of a slice of a
/// `RouteSet`, in the `shared_route` reading (route r applied to every token of the sequences).
public struct RouteLosses: Sendable, Equatable {
    public let routes: RouteSet
    /// The first route of the slice and how many it holds.
    public let first: Int
    public let count: Int
    /// Tokens per route (batch · context).
    public let tokens: Int
    /// `values[(r − first)·tokens + t]`, nats.
    public let values: [Float]

    public init(routes: RouteSet, first: Int, count: Int, tokens: Int, values: [Float]) {
        precondition(values.count == count * tokens, "CE needs count × tokens values")
        self.routes = routes; self.first = first; self.count = count; self.tokens = tokens; self.values = values
    }

    /// Whether the slice is the whole route set (the summaries need it).
    public var isComplete: Bool { first == 0 && count == routes.count }

    /// `CE[r, t]` of `model` on `batch` for the routes `first ..< first + count`, every token on
    /// route r. With `sharing` (the default) the routes' common prefixes are computed once, by the
    /// depth-first `RouteWalk` on the staged pass; without it, one full `forward` per route. Both
    /// give the same bits (the staged steps are `forward`'s own), for any slice.
    /// On a model of several threads the slice is cut into parts run at once on single-threaded
    /// replicas (`RouteParallel`), again with the same bits; a model with hooks enabled runs alone.
    /// Restores the model's routes (nil) afterwards; `shouldStop` is asked before every step.
    /// - Throws: `ModelError` for a model without duo layers, a route set of another depth, a
    ///   slice outside the set, a batch the model refuses, or a stop.
    public static func evaluate(_ model: Transformer, batch: TrainingBatch, routes: RouteSet, first: Int = 0,
                                count: Int? = nil, sharing: Bool = true,
                                shouldStop: () -> Bool = { false }) throws(ModelError) -> RouteLosses {
        guard model.config.hasDuoLayers else {
            throw .configuration("no layer of this model is a duo layer, so it has no routes; train it with train.duo")
        }
        guard routes.layers == model.config.depth else {
            throw .configuration("the route set has \(routes.layers) layers but the model has \(model.config.depth)")
        }
        let count = count ?? routes.count - first
        guard first >= 0, count >= 1, first + count <= routes.count else {
            throw .configuration("routes \(first) ..< \(first + count) are outside the \(routes.count) routes (0 ..< \(routes.count))")
        }
        let n = batch.size * batch.length
        guard batch.length == model.config.context else {
            throw .input("the evaluation batch has sequences of \(batch.length) but the model's context is \(model.config.context)")
        }
        var values = [Float](repeating: 0, count: count * n)
        defer { model.routes = nil }
        model.routes = nil
        // Captures go to the model's own hooks, so a model that captures runs on its own.
        let parts = model.hooks.isEnabled ? 1 : RouteParallel.parts(threads: model.threads, count: count)
        try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
            let output = buffer.baseAddress!
            if parts == 1 {
                try walk(model, batch: batch, routes: routes, slice: first..<(first + count), sharing: sharing, into: output,
                         shouldStop: shouldStop)
            } else {
                try RouteParallel.run(model, first: first, count: count, tokens: n, parts: parts, values: output,
                                      shouldStop: shouldStop) { replica, part, values, stop throws(ModelError) in
                    try walk(replica, batch: batch, routes: routes, slice: part, sharing: sharing, into: values, shouldStop: stop)
                }
            }
        }
        return RouteLosses(routes: routes, first: first, count: count, tokens: n, values: values)
    }

    /// `slice` on `model`, one thread: with `sharing` the depth-first walk on the staged pass,
    /// else one full `forward` per route. Row r of the slice goes to `output + (r − slice.lowerBound)·tokens`.
    static func walk(_ model: Transformer, batch: TrainingBatch, routes: RouteSet, slice: Range<Int>, sharing: Bool,
                     into output: UnsafeMutablePointer<Float>, shouldStop: () -> Bool) throws(ModelError) {
        let n = batch.size * batch.length
        guard sharing else {
            defer { model.routes = nil }
            for r in slice {
                if shouldStop() { throw .input("the oracle was stopped after \(r - slice.lowerBound) of \(slice.count) routes") }
                model.routes = DuoRoutes(uniform: routes.route(r), tokens: n)
                _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size,
                                      positionLosses: output + (r - slice.lowerBound) * n)
            }
            return
        }
        try model.beginStagedForward(tokens: batch.inputs, targets: batch.targets, batch: batch.size)
        var done = 0
        for step in RouteWalk(routes: routes, first: slice.lowerBound, count: slice.count, sharing: true) {
            if shouldStop() { throw .input("the oracle was stopped after \(done) of \(slice.count) routes") }
            switch step {
            case let .attention(layer): model.stagedAttention(layer: layer)
            case let .ffn(layer, route): model.stagedFFN(layer: layer, route: route)
            case let .loss(route):
                _ = model.stagedLoss(positionLosses: output + (route - slice.lowerBound) * n)
                done += 1
            }
        }
    }

    /// The work `evaluate` does for a slice on `threads` threads, with or without sharing (see
    /// `RouteWalk`): on several threads, the sum of its parts' walks (`RouteParallel`).
    public static func work(routes: RouteSet, first: Int = 0, count: Int? = nil, sharing: Bool = true, threads: Int = 1) -> RouteWork {
        let count = count ?? routes.count - first
        let parts = RouteParallel.parts(threads: threads, count: count)
        var total = RouteWork(layers: routes.layers, routes: count)
        for p in 0..<parts {
            let part = RouteParallel.range(part: p, of: parts, first: first, count: count)
            let work = RouteWalk(routes: routes, first: part.lowerBound, count: part.count, sharing: sharing).work
            total.attention += work.attention
            total.ffn = zip(total.ffn, work.ffn).map(+)
            total.losses += work.losses
        }
        return total
    }

    /// Writes the slice as a float32 `.npy` of shape [count, tokens] (rows in `RouteSet` order
    /// from `first`).
    public func writeNPY(toFile path: String) throws {
        try Tensor(shape: [count, tokens], storage: values).writeNPY(toFile: path)
    }
}
