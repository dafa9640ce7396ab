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
        guard sharing else {
            for r in 0..<count {
                if shouldStop() { throw .input("the oracle was stopped after \(r) of \(count) routes") }
                model.routes = DuoRoutes(uniform: routes.route(first + r), tokens: n)
                try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
                    _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size,
                                          positionLosses: buffer.baseAddress! + r * n)
                }
            }
            return RouteLosses(routes: routes, first: first, count: count, tokens: n, values: values)
        }
        model.routes = nil
        try model.beginStagedForward(tokens: batch.inputs, targets: batch.targets, batch: batch.size)
        var done = 0
        for step in RouteWalk(routes: routes, first: first, count: count, sharing: true) {
            if shouldStop() { throw .input("the oracle was stopped after \(done) of \(count) routes") }
            switch step {
            case let .attention(layer): model.stagedAttention(layer: layer)
            case let .ffn(layer, route): model.stagedFFN(layer: layer, route: route)
            case let .loss(route):
                values.withUnsafeMutableBufferPointer { _ = model.stagedLoss(positionLosses: $0.baseAddress! + (route - first) * n) }
                done += 1
            }
        }
        return RouteLosses(routes: routes, first: first, count: count, tokens: n, values: values)
    }

    /// The work `evaluate` does for a slice, with or without sharing (see `RouteWalk`).
    public static func work(routes: RouteSet, first: Int = 0, count: Int? = nil, sharing: Bool = true) -> RouteWork {
        let count = count ?? routes.count - first
        return RouteWalk(routes: routes, first: first, count: count, sharing: sharing).work
    }

    /// Writes the slice as a float32 `.npy` of shape [count, tokens] (rows in `RouteSet` order
    /// from `first`).
    public func writeNPY(toFile path: String) throws {
        try Tensor(shape: [count, tokens], storage: values).writeNPY(toFile: path)
    }
}
