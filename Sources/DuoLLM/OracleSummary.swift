import Foundation
import Models
import TensorCore

/// What the oracle finds in a complete `CE[r, t]` (reading `shared_route`): the fixed routes'
/// perplexities, and per budget k (big layers) the per-token best route and its perplexity.
public struct OracleSummary: Sendable, Equatable {
    public var allBig: Double
    public var allSmall: Double
    /// `oracle[k]`: exp(mean over t of min over big/small routes with exactly k big layers of CE[r, t]).
    public var oracle: [Double]
    /// The same over big/small/skip routes (when the set has skip; empty otherwise).
    public var oracleSkip: [Double]
    /// `bestRandom[k]`: the lowest perplexity among the sampled fixed routes with k big layers.
    public var bestRandom: [Double]
    /// The route `bestRandom[k]` is from.
    public var bestRandomRoute: [Int]
    /// `layerUsage[k][l]`: the fraction of tokens whose best route at budget k takes big at layer l.
    public var layerUsage: [[Double]]
    /// `argmin[k][t]`: the best big/small route at budget k for token t (the first in route order on ties).
    public var argmin: [[Int]]
    /// With skip: `skipUsage[k][l][c]`, the fraction of tokens whose best big/small/skip route at
    /// budget k takes choice c (0 big, 1 small, 2 skip) at layer l (empty without skip).
    public var skipUsage: [[[Double]]]
    /// With skip: among tokens whose best route at budget k skips somewhere, the fraction whose
    /// skips are exactly a suffix of the layers (an early exit: once skipped, skipped to the end);
    /// NaN when no token's best route skips.
    public var earlyExitFraction: [Double]

    /// Summarises `losses` (the complete route set).
    /// - Parameters:
    ///   - randomRoutes: N, the fixed routes sampled per budget (all of them when C(L, k) ≤ N).
    ///   - seed: the sample's seed.
    /// - Throws: `ModelError.configuration` for an incomplete slice.
    public init(_ losses: RouteLosses, randomRoutes: Int = 100, seed: UInt64 = 0) throws(ModelError) {
        guard losses.isComplete else {
            throw .configuration("the oracle needs every route: this slice holds routes \(losses.first) ..< \(losses.first + losses.count) of \(losses.routes.count)")
        }
        let set = losses.routes, layers = set.layers, n = losses.tokens
        func perplexity(_ sum: Double) -> Double { exp(sum / Double(max(1, n))) }
        func routeSum(_ r: Int) -> Double {
            var sum = 0.0
            for t in 0..<n { sum += Double(losses.values[r * n + t]) }
            return sum
        }
        allBig = perplexity(routeSum(0))
        allSmall = perplexity(routeSum(try! set.index(of: Array(repeating: .small, count: layers))))
        var byBudget = [[Int]](repeating: [], count: layers + 1)
        for r in 0..<set.count where set.isBigSmall(r) { byBudget[set.bigCount(r)].append(r) }
        // Best per token among `candidates` (route order, so ties keep the first).
        func best(_ candidates: [Int]) -> (perplexity: Double, argmin: [Int]) {
            var sum = 0.0, chosen = [Int](repeating: 0, count: n)
            for t in 0..<n {
                var bestRoute = candidates[0], bestLoss = losses.values[candidates[0] * n + t]
                for r in candidates.dropFirst() where losses.values[r * n + t] < bestLoss {
                    bestLoss = losses.values[r * n + t]; bestRoute = r
                }
                sum += Double(bestLoss); chosen[t] = bestRoute
            }
            return (perplexity(sum), chosen)
        }
        oracle = []; argmin = []; layerUsage = []; bestRandom = []; bestRandomRoute = []
        var random = SeededRandom(seed: seed)
        for k in 0...layers {
            let (value, chosen) = best(byBudget[k])
            oracle.append(value); argmin.append(chosen)
            var usage = [Double](repeating: 0, count: layers)
            for r in chosen { for (l, choice) in set.route(r).enumerated() where choice == .big { usage[l] += 1 } }
            layerUsage.append(usage.map { $0 / Double(max(1, n)) })
            var sample = byBudget[k]
            if sample.count > randomRoutes {
                sample.shuffle(using: &random)
                sample = Array(sample.prefix(randomRoutes))
            }
            sample.sort()   // ties go to the first route in route order
            var bestRoute = sample[0], bestValue = perplexity(routeSum(sample[0]))
            for r in sample.dropFirst() {
                let value = perplexity(routeSum(r))
                if value < bestValue { bestValue = value; bestRoute = r }
            }
            bestRandom.append(bestValue); bestRandomRoute.append(bestRoute)
        }
        oracleSkip = []; skipUsage = []; earlyExitFraction = []
        if set.skip {
            var withSkip = [[Int]](repeating: [], count: layers + 1)
            for r in 0..<set.count { withSkip[set.bigCount(r)].append(r) }
            for candidates in withSkip {
                let (value, chosen) = best(candidates)
                oracleSkip.append(value)
                var usage = [[Double]](repeating: [0, 0, 0], count: layers)
                var skipping = 0, exits = 0
                for r in chosen {
                    let route = set.route(r)
                    for (l, choice) in route.enumerated() { usage[l][Int(choice.rawValue)] += 1 }
                    guard let firstSkip = route.firstIndex(of: .skip) else { continue }
                    skipping += 1
                    if route[firstSkip...].allSatisfy({ $0 == .skip }) { exits += 1 }
                }
                skipUsage.append(usage.map { $0.map { $0 / Double(max(1, n)) } })
                earlyExitFraction.append(skipping > 0 ? Double(exits) / Double(skipping) : .nan)
            }
        }
    }
}
