import Foundation

/// The learning rate at each step: constant, or linear warm-up then cosine decay.
public enum LearningRateSchedule: Sendable, Equatable, Codable {
    case constant(Float)
    /// Linear warm-up over `warmup` steps to `peak`, then a half cosine down to `floor` at `total`.
    case cosine(peak: Float, warmup: Int, total: Int, floor: Float)

    /// The rate for 0-based `step`.
    public func rate(at step: Int) -> Float {
        switch self {
        case let .constant(rate):
            return rate
        case let .cosine(peak, warmup, total, floor):
            if step < warmup { return peak * Float(step + 1) / Float(warmup) }
            let span = max(1, total - warmup)
            let progress = min(1, Float(step - warmup) / Float(span))
            return floor + (peak - floor) * 0.5 * (1 + cosf(.pi * progress))
        }
    }
}
