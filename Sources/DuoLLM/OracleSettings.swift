import Models
import Tasks

/// The oracle's settings, shared by `train.duo` (the oracle after training) and `duo.oracle`.
struct OracleSettings: Sendable {
    static let declaration: [ParameterSpec] = [
        ParameterSpec("evaluation_batch", .int, default: .int(16), "validation sequences the oracle (and the curves) evaluate",
                      minimum: 1, maximum: 1024),
        ParameterSpec("skip_routes", .bool, default: .bool(false), "search 3^L routes with skip (else 2^L big/small)"),
        ParameterSpec("random_routes", .int, default: .int(100), "N: random fixed routes per budget for ppl.best_random.k*",
                      minimum: 1, maximum: 100_000),
        ParameterSpec("route_seed", .int, default: .int(0), "seed of the random fixed routes", minimum: 0),
        ParameterSpec("budgets", .string, default: .string(""), "budgets k (big layers) to report, comma-separated (empty: 0…L)"),
        ParameterSpec("routes", .string, default: .string(""), "extra fixed routes to report as ppl.route.<letters>, comma-separated (e.g. BSBSBS)"),
        ParameterSpec("reading", .string, default: .string("both"),
                      "shared_route: a route for every token; fixed_context: only token t's route varies (fc.* metrics); both",
                      choices: ["shared_route", "fixed_context", "both"]),
        ParameterSpec("default_route", .string, default: .string(""),
                      "fixed_context: the context tokens' route, one letter per layer (empty: all big, e.g. BBBBBB)"),
        ParameterSpec("null_control", .bool, default: .bool(true), "run the null control ppl.null.k* (all-big passes with random dropout)"),
        ParameterSpec("null_dropout", .double, default: .double(0.1), "the null control's dropout rate on the big FFNs' hidden units",
                      minimum: 0, maximum: 0.9),
    ]

    let evaluationBatch: Int
    let skipRoutes: Bool
    let randomRoutes: Int
    let routeSeed: Int
    let budgets: String
    let routes: String
    let reading: String
    let defaultRoute: String
    let nullControl: Bool
    let nullDropout: Double

    /// Whether the `shared_route` reading runs (its metrics keep the names).
    var readsSharedRoute: Bool { reading != "fixed_context" }
    /// Whether the `fixed_context` reading runs (its metrics are the same names behind `fc.`).
    var readsFixedContext: Bool { reading != "shared_route" }

    init(_ values: ResolvedParameters) {
        evaluationBatch = values.int("evaluation_batch")
        skipRoutes = values.bool("skip_routes")
        randomRoutes = values.int("random_routes")
        routeSeed = values.int("route_seed")
        budgets = values.string("budgets")
        routes = values.string("routes")
        reading = values.string("reading")
        defaultRoute = values.string("default_route")
        nullControl = values.bool("null_control")
        nullDropout = values.double("null_dropout")
    }

    /// The context tokens' route of the `fixed_context` reading: all big unless `default_route`
    /// says otherwise (skip is allowed there even without skip routes: it is the context, not a candidate).
    /// - Throws: `ModelError.input` for an unknown letter or a length other than `layers`.
    func defaultRouteChoices(layers: Int) throws(ModelError) -> [DuoRoute] {
        guard !defaultRoute.isEmpty else { return Array(repeating: .big, count: layers) }
        let choices = try DuoRoute.parse(defaultRoute)
        guard choices.count == layers else {
            throw .input("default_route '\(defaultRoute.prefix(64))' has \(choices.count) letter(s) but the model has \(layers) layers; give one per layer")
        }
        return choices
    }

    /// The budgets asked, each in 0…layers (nil: all).
    /// - Throws: `ModelError.configuration` naming a word that is not a number or a k above L.
    func budgetList(layers: Int) throws(ModelError) -> [Int]? {
        guard !budgets.isEmpty else { return nil }
        var list: [Int] = []
        for word in budgets.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let k = Int(word), k >= 0 else { throw .configuration("budgets: '\(word)' is not a number of big layers ≥ 0") }
            guard k <= layers else {
                throw .configuration("budgets: k = \(k) big layers but the model has \(layers) layers; use k in 0…\(layers)")
            }
            list.append(k)
        }
        return list
    }

    /// The extra fixed routes, checked against the route set.
    /// - Throws: `ModelError.input` for an unknown letter, a wrong length, or skip without skip routes.
    func fixedRoutes(in set: RouteSet) throws(ModelError) -> [(letters: String, index: Int)] {
        guard !routes.isEmpty else { return [] }
        var list: [(String, Int)] = []
        for word in routes.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let choices = try DuoRoute.parse(word)
            list.append((String(choices.map(\.letter)), try set.index(of: choices)))
        }
        return list
    }

    /// Everything checkable from the depth alone, before any work.
    func check(layers: Int) throws(ModelError) {
        let set = try RouteSet(layers: layers, skip: skipRoutes)
        _ = try budgetList(layers: layers)
        _ = try fixedRoutes(in: set)
        _ = try defaultRouteChoices(layers: layers)
    }
}
