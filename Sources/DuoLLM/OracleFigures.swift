import Foundation
import Models
import Reports
import Tasks

/// What a complete oracle adds for reports: its perplexities as curves over the budget k (so a
/// report draws them with `x: step`, the step being k), and the route graphs as SVG and PDF.
enum OracleFigures {
    /// Curves whose step is the budget k: `budget.ppl.oracle`, `budget.ppl.best_random`,
    /// `budget.ppl.all_big` (flat, for the comparison), `budget.ppl.oracle_skip` with skip, and
    /// `budget.layer_usage.L{l}`.
    static func budgetSeries(_ summary: OracleSummary, set: RouteSet) -> [StepMetric] {
        var points: [StepMetric] = []
        for k in 0...set.layers {
            points.append(StepMetric(name: DuoMetric.budgetOracle.name, step: k, value: summary.oracle[k]))
            points.append(StepMetric(name: DuoMetric.budgetBestRandom.name, step: k, value: summary.bestRandom[k]))
            points.append(StepMetric(name: DuoMetric.budgetAllBig.name, step: k, value: summary.allBig))
            if set.skip {
                points.append(StepMetric(name: DuoMetric.budgetOracleSkip.name, step: k, value: summary.oracleSkip[k]))
                for l in 0..<set.layers {
                    points.append(StepMetric(name: DuoMetric.budgetSkipUsage.instance(l), step: k, value: summary.skipUsage[k][l][2]))
                }
            }
            for l in 0..<set.layers {
                points.append(StepMetric(name: DuoMetric.budgetLayerUsage.instance(l), step: k, value: summary.layerUsage[k][l]))
            }
        }
        return points
    }

    /// The route graph at each budget k = 1 … L (small multiples: `routes-k{K}`), and the path of
    /// the token the oracle helps most at the best budget (`token-route`), each as DOT, SVG and
    /// PDF in `directory`. Returns the SVG and PDF paths.
    static func graphs(_ summary: OracleSummary, losses: RouteLosses, into directory: URL) throws -> [String] {
        let set = losses.routes, n = losses.tokens
        var files: [String] = []
        func keep(_ names: [String]) { files += names.filter { !$0.hasSuffix(".dot") }.map { directory.appendingPathComponent($0).path } }
        for k in 1...set.layers {
            let oracle = (0..<set.layers).map { l -> [RouteGraphs.Branch: Double] in
                [.big: summary.layerUsage[k][l], .small: 1 - summary.layerUsage[k][l]]
            }
            let fixed = set.route(summary.bestRandomRoute[k]).map { choice -> [RouteGraphs.Branch: Double] in
                [branch(choice): 1]
            }
            let dot = RouteGraphs.routes(layers: set.layers, usage: [
                .init(condition: "oracle@\(k)", fractions: oracle), .init(condition: "best random route", fractions: fixed),
            ], title: "routes with \(k) big layer\(k == 1 ? "" : "s") of \(set.layers)")
            keep(try GraphRenderer.write(dot: dot, name: "routes-k\(k)", into: directory))
            guard set.skip else { continue }
            // Skip allowed: where the oracle's tokens skip (claim 5: not an early exit).
            let withSkip = summary.skipUsage[k].map { shares in [.big: shares[0], .small: shares[1], .skip: shares[2]] as [RouteGraphs.Branch: Double] }
            let exits = summary.earlyExitFraction[k]
            let skipDot = RouteGraphs.routes(layers: set.layers, usage: [.init(condition: "oracle@\(k), skip allowed", fractions: withSkip)],
                                             title: "routes with \(k) big layer\(k == 1 ? "" : "s"), skip allowed"
                                                + (exits.isNaN ? "" : String(format: "; early exits: %.0f%% of skipping tokens", 100 * exits)))
            keep(try GraphRenderer.write(dot: skipDot, name: "routes-skip-k\(k)", into: directory))
        }
        let best = (1...set.layers).min { summary.oracle[$0] < summary.oracle[$1] } ?? set.layers
        // The token whose loss falls most from all big to its best route at that budget.
        var token = 0, gain = -Double.infinity
        for t in 0..<n {
            let g = Double(losses.values[t]) - Double(losses.values[summary.argmin[best][t] * n + t])
            if g > gain { gain = g; token = t }
        }
        let route = summary.argmin[best][token]
        let dot = RouteGraphs.tokenPath(route: set.route(route).map(branch), token: "t = \(token)",
                                        loss: Double(losses.values[route * n + token]), allBigLoss: Double(losses.values[token]),
                                        title: "the token oracle@\(best) helps most")
        keep(try GraphRenderer.write(dot: dot, name: "token-route", into: directory))
        return files
    }

    private static func branch(_ choice: DuoRoute) -> RouteGraphs.Branch {
        switch choice {
        case .big: .big
        case .small: .small
        case .skip: .skip
        }
    }
}
