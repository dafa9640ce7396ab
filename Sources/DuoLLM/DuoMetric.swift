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
    public static let reading = MetricSpec("oracle.reading", "how a route is applied in the unprefixed oracle metrics (shared_route: to every token)")
    public static let routes = MetricSpec("oracle.routes", "routes evaluated")
    public static let firstRoute = MetricSpec("oracle.first_route", "first route of the slice")
    public static let tokens = MetricSpec("oracle.tokens", "evaluation tokens per route")
    public static let null = MetricSpec("ppl.null.k*", "null control: per-token best of C(L, k) all-big passes with random dropout",
                                        unit: "ppl")
    public static let difficultyReduction = MetricSpec("difficulty.reduction",
                                                       "mean loss reduction from all small to the best route, by position (step = position)",
                                                       unit: "nats", stepped: true)
    public static let difficultyByAllBig = MetricSpec("difficulty.by_all_big",
                                                      "mean loss reduction from all small to the best route, by all-big loss (step: its bin's lower edge in 0.01 nats)",
                                                      unit: "nats", stepped: true)
    public static let difficultyMean = MetricSpec("difficulty.mean_reduction", "mean loss reduction from all small to the best route",
                                                  unit: "nats")
    public static let difficultyPosition = MetricSpec("difficulty.corr_position", "Pearson r of the loss reduction with position")
    public static let difficultyAllBig = MetricSpec("difficulty.corr_all_big", "Pearson r of the loss reduction with the all-big loss")
    /// The `fixed_context` reading's metrics are the `shared_route` ones behind this prefix.
    public static let fixedContextPrefix = "fc."
    public static let fixedContextReading = MetricSpec("fc.oracle.reading",
                                                       "how a route is applied in the fc.* metrics (fixed_context: to one token, the others on the default route)")
    public static let defaultRoute = MetricSpec("fc.oracle.default_route", "fixed_context: the context tokens' route (letters)")
    public static let earlyExit = MetricSpec("oracle_skip.early_exit.k*",
                                             "of tokens whose best route skips, the fraction whose skips form an early exit (a suffix)")
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
    public static let budgetNull = MetricSpec("budget.ppl.null", "null control (best of the dropout passes)", unit: "ppl", stepped: true)
    public static let steps = MetricSpec("steps", "steps trained")
    public static let parameters = MetricSpec("parameters", "model parameters")
    public static let resumedFrom = MetricSpec("resumed_from", "step resumed from")

    static let difficulty = [difficultyReduction, difficultyByAllBig, difficultyMean, difficultyPosition, difficultyAllBig]
    /// The metrics each reading's summary gives (the fixed_context ones behind `fc.`).
    static let readingMetrics = [allBig, allSmall, oracle, oracleSkip, bestRandom, bestRandomRoute, route, layerUsage, earlyExit,
                                 budgetOracle, budgetOracleSkip, budgetBestRandom, budgetAllBig, budgetLayerUsage, budgetSkipUsage] + difficulty
    public static let fixedContext: [MetricSpec] = readingMetrics.map {
        MetricSpec(fixedContextPrefix + $0.name, "\($0.label) (fixed_context)", unit: $0.unit, stepped: $0.isStepped)
    } + [fixedContextReading, defaultRoute]
    public static let oracleMetrics = readingMetrics + [reading, routes, firstRoute, tokens, null, budgetNull] + fixedContext
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
    /// perplexities by letters; every name behind `prefix` (empty, or `fc.` for fixed_context).
    static func values(_ summary: OracleSummary, set: RouteSet, budgets: [Int]?, fixed: [String: Double], prefix: String = "")
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
        return Dictionary(uniqueKeysWithValues: metrics.map { (prefix + $0.key, $0.value) })
    }

    /// Token difficulty's summary metrics and its curve (step = position), names behind `prefix`.
    static func values(_ difficulty: TokenDifficulty, prefix: String = "") -> (metrics: [String: ParameterValue], series: [StepMetric]) {
        var metrics: [String: ParameterValue] = [prefix + difficultyMean.name: .double(difficulty.meanReduction)]
        if let r = difficulty.correlationWithPosition { metrics[prefix + difficultyPosition.name] = .double(r) }
        if let r = difficulty.correlationWithAllBig { metrics[prefix + difficultyAllBig.name] = .double(r) }
        let series = difficulty.meanReductionByPosition.enumerated().map {
            StepMetric(name: prefix + difficultyReduction.name, step: $0.offset, value: $0.element)
        } + difficulty.meanReductionByAllBigLoss.map {
            StepMetric(name: prefix + difficultyByAllBig.name, step: $0.centinats, value: $0.mean)
        }
        return (metrics, series)
    }
}
