import Foundation
import Models

/// How a router is trained, checked once before any step.
struct RouterSettings: Sendable {
    var skip = false
    /// The budget b ∈ [0, 1]: the fraction of (token, layer) choices that take big, over all
    /// layers and tokens; α weighs the penalty α·(mean P_big − b)².
    var budget = 0.5, alpha = 1.0
    /// τ is annealed geometrically from `temperature` to `finalTemperature` over the steps.
    var temperature = 1.0, finalTemperature = 0.05
    var steps = 300, batch = 16
    var learningRate = 1e-2
    var seed: UInt64 = 0

    /// - Throws: `ModelError.configuration` naming the setting and its allowed range.
    func validate() throws(ModelError) {
        guard budget.isFinite, (0...1).contains(budget) else {
            throw .configuration("budget must be in [0, 1], the fraction of layers that take big (got \(budget))")
        }
        guard alpha.isFinite, alpha >= 0 else { throw .configuration("alpha must be ≥ 0 (got \(alpha))") }
        guard temperature.isFinite, finalTemperature.isFinite, temperature > 0, finalTemperature > 0 else {
            throw .configuration("temperature and final_temperature must be > 0 (got \(temperature), \(finalTemperature))")
        }
        guard finalTemperature <= temperature else {
            throw .configuration("final_temperature \(finalTemperature) is above temperature \(temperature); the anneal goes towards hard choices, so use final_temperature ≤ temperature")
        }
        guard steps >= 1, batch >= 1 else { throw .configuration("router_steps and batch must be ≥ 1 (got \(steps), \(batch))") }
        guard learningRate.isFinite, learningRate >= 0 else { throw .configuration("lr must be ≥ 0 (got \(learningRate))") }
    }

    /// τ at `step`: `temperature·(finalTemperature/temperature)^(step/(steps − 1))`.
    func temperature(at step: Int) -> Float {
        guard steps > 1 else { return Float(finalTemperature) }
        return Float(temperature * pow(finalTemperature / temperature, Double(step) / Double(steps - 1)))
    }
}
