import TensorCore

/// Wall time of each phase of training steps (`loom bench train --phases`). Marks between the
/// passes of a step add the time since the previous mark to their phase, so the phases add up
/// to the steps' time. Off (nil) by default, where a mark costs one branch.
public final class StepPhases {
    public enum Phase: String, CaseIterable, Sendable {
        case other = "batch and checks"
        case embedding = "embedding"
        case attentionInput = "LayerNorm 1, q|k|v"
        case attention = "attention"
        case attentionOutput = "W_O"
        case ffn = "LayerNorm 2, FFN"
        case head = "final LayerNorm, logits, loss"
        case headBackward = "backward: logits, final LayerNorm"
        case ffnBackward = "backward: FFN, LayerNorm 2"
        case attentionOutputBackward = "backward: W_O"
        case attentionBackward = "backward: attention"
        case attentionInputBackward = "backward: q|k|v, LayerNorm 1"
        case embeddingBackward = "backward: embedding"
        case optimizer = "clipping, optimizer"
    }

    /// Seconds per phase, in `Phase.allCases` order.
    public private(set) var seconds = [Double](repeating: 0, count: Phase.allCases.count)
    private var last = ContinuousClock.now

    public init() {}

    /// Starts timing from now (the start of a step).
    public func start() { last = .now }

    /// Adds the time since the previous mark (or `start`) to `phase`.
    public func mark(_ phase: Phase) {
        let now = ContinuousClock.now
        seconds[Phase.allCases.firstIndex(of: phase)!] += (now - last).inSeconds
        last = now
    }

    /// Seconds of `phase` so far.
    public subscript(phase: Phase) -> Double { seconds[Phase.allCases.firstIndex(of: phase)!] }
}
