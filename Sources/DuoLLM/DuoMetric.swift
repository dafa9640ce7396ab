import Models
import Tasks

/// The metrics `train.duo` and `duo.oracle` report, declared once (names as in issue 18, so
/// reports, notebooks and exports agree).
public enum DuoMetric {
    public static let allBig = MetricSpec("ppl.all_big", "perplexity, all big", unit: "ppl")
    public static let allSmall = MetricSpec("ppl.all_small", "perplexity, all small", unit: "ppl")
    public static let oracle = MetricSpec("ppl.oracle.k*", "oracle perplexity with k big layers", unit: "ppl")
    public static let oracleSkip = MetricSpec("ppl.oracle_skip.k*", "oracle perplexity with k big layers, skip allowed", unit: "ppl")
    public static let bestRandom = MetricSpec("ppl.best_random.k*", "best random fixed route with k big layers", unit: "ppl")
    public static let bestRandomRoute = MetricSpec("best_random.k*.route", "the best random fixed route (letters)")
    public static let route = MetricSpec("ppl.route.*", "perplexity of a given fixed route", unit: "ppl")
    public static let layerUsage = MetricSpec("oracle.layer_usage.k*.L*", "fraction of tokens whose best route takes big at the layer")
    public static let earlyExit = MetricSpec("oracle_skip.early_exit.k*",
                                             "of tokens whose best route skips, the fraction whose skips form an early exit (a suffix)")
    public static let reading = MetricSpec("oracle.reading", "how a route is applied (shared_route: to every token)")
    public static let routes = MetricSpec("oracle.routes", "routes evaluated")
    public static let firstRoute = MetricSpec("oracle.first_route", "first route of the slice")
    public static let tokens = MetricSpec("oracle.tokens", "evaluation tokens per route")
    // Curves over the budget: the step is k, the number of big layers (labels name the series;
    // the report's xlabel says what the step is).
    public static let budgetOracle = MetricSpec("budget.ppl.oracle", "oracle", unit: "ppl", stepped: true)
    public static let budgetOracleSkip = MetricSpec("budget.ppl.oracle_skip", "oracle, skip allowed",
                                                    unit: "ppl", stepped: true)
    public static let budgetBestRandom = MetricSpec("budget.ppl.best_random", "best random fixed route",
                                                    unit: "ppl", stepped: true)
    public static let budgetAllBig = MetricSpec("budget.ppl.all_big", "all big", unit: "ppl", stepped: true)
    public static let budgetLayerUsage = MetricSpec("budget.layer_usage.L*", "oracle's tokens on big at the layer",
                                                    stepped: true)
    public static let budgetSkipUsage = MetricSpec("budget.skip_usage.L*", "oracle's tokens skipping the layer (skip allowed)",
                                                   stepped: true)
    public static let steps = MetricSpec("steps", "steps trained")
    public static let parameters = MetricSpec("parameters", "model parameters")
    public static let resumedFrom = MetricSpec("resumed_from", "step resumed from")

    public static let oracleMetrics = [allBig, allSmall, oracle, oracleSkip, bestRandom, bestRandomRoute, route, layerUsage, earlyExit,
                                       reading, routes, firstRoute, tokens,
                                       budgetOracle, budgetOracleSkip, budgetBestRandom, budgetAllBig, budgetLayerUsage, budgetSkipUsage]
    public static let all: [MetricSpec] = TrainingMetric.all + oracleMetrics + [steps, parameters, resumedFrom]

    // The trained router (`duo.router`): evaluation with hard routes, and its training curves.
    public static let router = MetricSpec("ppl.router", "perplexity with the trained router's hard routes", unit: "ppl")
    public static let routerBigFraction = MetricSpec("router.big_fraction", "realised fraction of (token, layer) choices that take big")
    public static let routerSkipFraction = MetricSpec("router.skip_fraction", "realised fraction of (token, layer) choices that skip")
    public static let routerLayerUsage = MetricSpec("router.layer_usage.L*", "fraction of tokens the router sends to big at the layer")
    public static let routerLoss = MetricSpec("router.loss", "router loss CE + α·(mean P_big − b)², soft, training batch", unit: "nats")
    public static let routerCE = MetricSpec("router.ce", "cross-entropy of the soft mixture, training batch", unit: "nats")
    public static let routerTrainBigFraction = MetricSpec("router.train_big_fraction", "fraction of argmax choices that take big, training batch")
    public static let routerBudgetK = MetricSpec("router.k", "the budget k nearest the router's realised big fraction (round(fraction · L))")
    public static let routerOracle = MetricSpec("router.ppl.oracle", "oracle perplexity at the router's budget k, same batch", unit: "ppl")
    public static let routerBestRandom = MetricSpec("router.ppl.best_random", "best random fixed route at the router's budget k",
                                                    unit: "ppl")
    /// What `duo.router` stores.
    public static let routerMetrics = [router, routerBigFraction, routerSkipFraction, routerLayerUsage, routerLoss, routerCE,
                                       routerTrainBigFraction, routerBudgetK, routerOracle, routerBestRandom, allBig, steps]

    /// The oracle's metrics for the budgets asked (every k when nil); `fixed` are extra routes'
    /// CE sums by letters.
    static func values(_ summary: OracleSummary, set: RouteSet, budgets: [Int]?, fixed: [String: Double])
        -> [String: ParameterValue] {
        var metrics: [String: ParameterValue] = [allBig.name: .double(summary.allBig), allSmall.name: .double(summary.allSmall)]
        for k in budgets ?? Array(0...set.layers) {
            metrics[oracle.instance(k)] = .double(summary.oracle[k])
            metrics[bestRandom.instance(k)] = .double(summary.bestRandom[k])
            metrics[bestRandomRoute.instance(k)] = .string(String(set.route(summary.bestRandomRoute[k]).map(\.letter)))
            if set.skip {
                metrics[oracleSkip.instance(k)] = .double(summary.oracleSkip[k])
                if !summary.earlyExitFraction[k].isNaN { metrics[earlyExit.instance(k)] = .double(summary.earlyExitFraction[k]) }
            }
            for l in 0..<set.layers { metrics[layerUsage.instance(k, l)] = .double(summary.layerUsage[k][l]) }
        }
        for (letters, value) in fixed { metrics[route.instance(letters)] = .double(value) }
        return metrics
    }
}
