import TensorCore

/// What one token does at one duo FFN layer (Duo-LLM, arXiv 2410.10846): the big FFN, the small
/// FFN, or nothing (the residual passes through). Letters in text: `B`, `S`, `K` (sKip).
public enum DuoRoute: UInt8, Sendable, CaseIterable {
    case big = 0, small = 1, skip = 2

    public var letter: Character {
        switch self {
        case .big: "B"
        case .small: "S"
        case .skip: "K"
        }
    }

    /// The route of one token as letters, one per layer, e.g. `"BSK"`.
    /// - Throws: `ModelError.input` naming the first unknown letter and its position.
    public static func parse(_ text: String) throws(ModelError) -> [DuoRoute] {
        var routes: [DuoRoute] = []
        for (index, character) in text.enumerated() {
            switch character {
            case "B", "b": routes.append(.big)
            case "S", "s": routes.append(.small)
            case "K", "k": routes.append(.skip)
            default:
                throw .input("route '\(text.prefix(64))': letter \(index) is '\(character)'; use B (big FFN), S (small FFN) or K (skip)")
            }
        }
        return routes
    }
}

/// One route choice per token and per layer for a batch: `choices[token·layers + layer]`, tokens
/// in (batch, position) row-major order, so one batch can mix routes freely.
/// Layers whose FFN is not duo ignore their entry.
public struct DuoRoutes: Sendable, Equatable {
    public let layers: Int
    public let choices: [DuoRoute]
    public var tokens: Int { layers > 0 ? choices.count / layers : 0 }

    /// - Precondition: `choices.count` is a multiple of `layers` ≥ 1.
    public init(layers: Int, choices: [DuoRoute]) {
        precondition(layers >= 1 && choices.count % layers == 0, "routes need layers ≥ 1 and a whole number of tokens")
        self.layers = layers
        self.choices = choices
    }

    /// Every one of `tokens` tokens takes `route` (one choice per layer).
    public init(uniform route: [DuoRoute], tokens: Int) {
        self.init(layers: max(1, route.count), choices: Array([[DuoRoute]](repeating: route, count: tokens).joined()))
    }

    /// One route string per token (`["BSK", "BBB", …]`); all must have the same length.
    /// - Throws: `ModelError.input` for an unknown letter or routes of different lengths.
    public init(text: [String]) throws(ModelError) {
        guard let first = text.first, !first.isEmpty else { throw .input("routes need at least one token and one layer") }
        var choices: [DuoRoute] = []
        for (token, word) in text.enumerated() {
            let route = try DuoRoute.parse(word)
            guard route.count == first.count else {
                throw .input("route of token \(token) has \(route.count) letters but token 0's has \(first.count); give one letter per layer")
            }
            choices += route
        }
        self.init(layers: first.count, choices: choices)
    }

    /// Routes as raw bytes (0 big, 1 small, 2 skip), `bytes[token·layers + layer]`, e.g. from a file
    /// or a message.
    /// - Throws: `ModelError.input` naming the first bad byte, or a count that is not whole tokens.
    public init(layers: Int, bytes: [UInt8]) throws(ModelError) {
        guard layers >= 1, bytes.count % layers == 0 else {
            throw .input("\(bytes.count) route bytes are not a whole number of tokens of \(layers) layer(s)")
        }
        var choices: [DuoRoute] = []
        choices.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            guard let route = DuoRoute(rawValue: byte) else {
                throw .input("route byte \(index) (token \(index / layers), layer \(index % layers)) is \(byte); use 0 (big), 1 (small) or 2 (skip)")
            }
            choices.append(route)
        }
        self.init(layers: layers, choices: choices)
    }

    /// The routes as raw bytes (see `init(layers:bytes:)`).
    public var bytes: [UInt8] { choices.map(\.rawValue) }

    /// The route of `token` as letters.
    public func text(token: Int) -> String {
        String(choices[(token * layers)..<((token + 1) * layers)].map(\.letter))
    }
}

/// Stage-1 random routing (Duo-LLM's training): each token at each layer independently takes big
/// with probability `pBig`, skip with probability `pSkip`, else small. Routes depend only on
/// (seed, step), so a resumed run draws the same routes.
public struct RandomRouting: Sendable, Equatable {
    public let pBig: Double
    public let pSkip: Double
    public let seed: UInt64

    /// - Throws: `ModelError.configuration` unless pBig, pSkip ∈ [0, 1] and pBig + pSkip ≤ 1.
    public init(pBig: Double = 0.5, pSkip: Double = 0, seed: UInt64) throws(ModelError) {
        guard pBig.isFinite, (0...1).contains(pBig) else { throw .configuration("p_big must be in [0, 1] (got \(pBig))") }
        guard pSkip.isFinite, (0...1).contains(pSkip) else { throw .configuration("p_skip must be in [0, 1] (got \(pSkip))") }
        guard pBig + pSkip <= 1 + 1e-12 else {
            throw .configuration("p_big + p_skip must be at most 1 (got \(pBig) + \(pSkip)); small takes the rest")
        }
        self.pBig = pBig; self.pSkip = pSkip; self.seed = seed
    }

    /// The routes of training step `step` for `tokens` tokens and `layers` layers.
    /// - Complexity: O(tokens·layers), one 64-bit draw per choice.
    public func routes(tokens: Int, layers: Int, step: Int) -> DuoRoutes {
        var keyHash = SplitMix64(seed: seed ^ 0xD00_11A)
        var stepHash = SplitMix64(seed: keyHash.next() ^ UInt64(bitPattern: Int64(step)))
        var random = SeededRandom(seed: stepHash.next())
        // 53-bit uniforms in [0, 1): pBig = 1 always gives big, pBig = 0 never does.
        let choices = (0..<(tokens * layers)).map { _ -> DuoRoute in
            let u = Double(random.next() >> 11) * 0x1p-53
            return u < pBig ? .big : (u < pBig + pSkip ? .skip : .small)
        }
        return DuoRoutes(layers: max(1, layers), choices: choices)
    }
}
