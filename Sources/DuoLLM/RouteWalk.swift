import Models

/// The steps that evaluate a slice of a `RouteSet` with prefix sharing, in order: a depth-first
/// walk of the route tree. Routes are numbered with layer 0 the most significant digit, so a
/// slice `first ..< first + count` is a run of neighbouring leaves and consecutive routes differ
/// only from some layer on. For each route, the walk redoes only what depends on a changed
/// choice: layer l's attention reads the stream after layers 0 ..< l, so it runs again only when
/// one of those choices changed; layer l's FFN reads the same stream and its own choice, so it
/// runs from the first changed layer on. Without sharing every route runs every step.
public struct RouteWalk: Sequence, Sendable {
    public enum Step: Sendable, Equatable {
        /// Layer `layer`'s attention half, on the stream the earlier layers left.
        case attention(layer: Int)
        /// Layer `layer`'s FFN half with every token on `route`.
        case ffn(layer: Int, route: DuoRoute)
        /// The head and cross-entropy of route `route` (a number in the set): its last step.
        case loss(route: Int)
    }

    public let routes: RouteSet
    public let first: Int
    public let count: Int
    public let sharing: Bool

    /// - Precondition: the slice lies inside the set (`RouteLosses.evaluate` checks it first).
    public init(routes: RouteSet, first: Int, count: Int, sharing: Bool) {
        precondition(first >= 0 && count >= 0 && first + count <= routes.count, "the slice must lie inside the route set")
        self.routes = routes; self.first = first; self.count = count; self.sharing = sharing
    }

    public struct Iterator: IteratorProtocol {
        let walk: RouteWalk
        var upcoming = 0
        var previous: [DuoRoute]?
        var pending: [Step] = []
        var position = 0

        public mutating func next() -> Step? {
            if position == pending.count {
                guard upcoming < walk.count else { return nil }
                let route = walk.routes.route(walk.first + upcoming)
                // Layers whose FFN output the previous route left valid (its choices agree up to here).
                var shared = 0
                if walk.sharing, let previous {
                    while shared < route.count && previous[shared] == route[shared] { shared += 1 }
                }
                pending.removeAll(keepingCapacity: true)
                for l in shared..<route.count {
                    // Layer `shared`'s attention reads only agreeing choices: still valid, except for the first route.
                    if l > shared || previous == nil || !walk.sharing { pending.append(.attention(layer: l)) }
                    pending.append(.ffn(layer: l, route: route[l]))
                }
                pending.append(.loss(route: walk.first + upcoming))
                position = 0
                previous = route
                upcoming += 1
            }
            defer { position += 1 }
            return pending[position]
        }
    }

    public func makeIterator() -> Iterator { Iterator(walk: self) }

    /// What the walk runs, counted.
    public var work: RouteWork {
        var work = RouteWork(layers: routes.layers, routes: count)
        for step in self {
            switch step {
            case .attention: work.attention += 1
            case let .ffn(_, route): work.ffn[Int(route.rawValue)] += 1
            case .loss: work.losses += 1
            }
        }
        return work
    }
}

/// The work of evaluating a slice of routes: layer halves and heads run, against the L × routes
/// of one full forward per route, and their matrix-product FLOPs.
public struct RouteWork: Sendable, Equatable {
    public let layers: Int
    public let routes: Int
    /// Attention halves run.
    public var attention = 0
    /// FFN halves run, by route: [big, small, skip].
    public var ffn = [0, 0, 0]
    /// Heads (final LayerNorm, unembedding, cross-entropy) run: one per route.
    public var losses = 0

    public init(layers: Int, routes: Int) { self.layers = layers; self.routes = routes }

    /// Layer evaluations: the FFN halves, each giving one layer's output stream for one prefix.
    public var layerEvaluations: Int { ffn.reduce(0, +) }
    /// What one full forward per route evaluates: L × routes.
    public var fullEvaluations: Int { layers * routes }

    /// Matrix-product FLOPs for a batch of `batch` sequences of `config.context` tokens, counted
    /// as `loom bench train` counts a forward: per attention half 2·n·4d² (Q, K, V and output
    /// projections) + 2·d·T·(T + 1) per sequence (causal scores and weighted sums); per FFN half
    /// 2·n·2·d·hidden of the chosen module (big: `ffn_hidden`, small: d/4, skip: 0); per head
    /// 2·n·d·V. LayerNorms, activations, softmax and copies are not counted.
    /// - Precondition: every layer of `config` is a duo layer with attention (the oracle's models).
    public func flops(config: ModelConfig, batch: Int) -> Double {
        let t = Double(config.context), d = Double(config.dModel), n = Double(batch) * t
        let attentionFLOPs = 2 * n * 4 * d * d + Double(batch) * 2 * d * t * (t + 1)
        let big = 2 * n * 2 * d * Double(config.ffnHidden), small = 2 * n * 2 * d * Double(config.smallFFNHidden)
        let head = 2 * n * d * Double(config.vocabulary)
        return Double(attention) * attentionFLOPs + Double(ffn[0]) * big + Double(ffn[1]) * small + Double(losses) * head
    }
}
