import Models

/// Every fixed route of an L-layer duo model, numbered: route r's choice at layer l is digit l of
/// r in base 2 (big/small) or 3 (big/small/skip), layer 0 the most significant digit, digits
/// 0 = big, 1 = small, 2 = skip. So route 0 is all big, routes sharing their first layers are
/// contiguous, and `CE[r, t]` rows of a `.npy` are in this order.
public struct RouteSet: Sendable, Equatable {
    /// The largest route set the oracle evaluates: 3^10 = 59,049 routes, each a full forward of
    /// the evaluation batch (with skip, L ≤ 10; without, L ≤ 15).
    public static let maxRoutes = 59_049
    public let layers: Int
    /// Whether skip is a choice (3^L routes) or not (2^L).
    public let skip: Bool

    public var base: Int { skip ? 3 : 2 }
    public var count: Int { (0..<layers).reduce(1) { product, _ in product * base } }

    /// - Throws: `ModelError.configuration` when there are more than `maxRoutes` routes.
    public init(layers: Int, skip: Bool) throws(ModelError) {
        guard layers >= 1 else { throw .configuration("the oracle needs at least one layer (got \(layers))") }
        let base = skip ? 3 : 2
        var count = 1
        for _ in 0..<layers {
            count *= base
            guard count <= Self.maxRoutes else {
                throw .configuration("\(layers) layers give \(base)^\(layers) routes, more than the \(Self.maxRoutes) the oracle evaluates (each route is a full forward pass); use at most \(skip ? 10 : 15) layers\(skip ? " with skip" : "")")
            }
        }
        self.layers = layers
        self.skip = skip
    }

    /// The choices of route `index`, layer 0 first.
    public func route(_ index: Int) -> [DuoRoute] {
        var digits = [DuoRoute](repeating: .big, count: layers), rest = index
        for l in stride(from: layers - 1, through: 0, by: -1) {
            digits[l] = DuoRoute(rawValue: UInt8(rest % base))!
            rest /= base
        }
        return digits
    }

    /// The number of route `choices` (one per layer, as `route(_:)` gives).
    /// - Throws: `ModelError.input` for a wrong length or skip in a set without it.
    public func index(of choices: [DuoRoute]) throws(ModelError) -> Int {
        guard choices.count == layers else {
            throw .input("route '\(String(choices.map(\.letter)))' has \(choices.count) letter(s) but the model has \(layers) layers; give one per layer")
        }
        var index = 0
        for choice in choices {
            guard skip || choice != .skip else {
                throw .input("route '\(String(choices.map(\.letter)))' skips a layer but skip routes are off; set skip_routes: true")
            }
            index = index * base + Int(choice.rawValue)
        }
        return index
    }

    /// Big layers in route `index`.
    public func bigCount(_ index: Int) -> Int { route(index).filter { $0 == .big }.count }

    /// Whether route `index` uses only big and small.
    public func isBigSmall(_ index: Int) -> Bool { !route(index).contains(.skip) }
}
