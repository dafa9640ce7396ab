import TensorCore

/// Wall time of each phase of training steps (`loom bench train --phases`), and how long the
/// workers waited in it. Marks between the passes of a step add the time since the previous mark
/// to their phase, so the phases add up to the steps' time. Off (nil) by default, where a mark
/// costs one branch.
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
    /// Worker seconds per phase spent waiting, in `Phase.allCases` order: inside the phase's
    /// parallel loops (`ParallelUsage`), and, for every worker but the caller, outside them,
    /// where the caller runs alone.
    public private(set) var waitingSeconds = [Double](repeating: 0, count: Phase.allCases.count)
    /// The workers a step runs on (the model's threads).
    public let workers: Int
    private var last = ContinuousClock.now
    /// The pooled loops started by the thread that created this (the one that runs the steps).
    private let usage: ParallelUsage
    private var lastUsage: ParallelUsage.Reading

    /// Records the parallel loops that the calling thread starts while it lives (phases are timed
    /// for diagnosis, not on every step): create it on the thread that runs the steps.
    public init(workers: Int = 1) {
        self.workers = max(1, workers)
        usage = ParallelUsage.recordingThisThread()
        lastUsage = usage.read()
    }

    deinit { usage.end() }

    /// Starts timing from now (the start of a step).
    public func start() {
        last = .now
        lastUsage = usage.read()
    }

    /// Adds the time since the previous mark (or `start`) to `phase`, and the workers' waiting in it.
    public func mark(_ phase: Phase) {
        let now = ContinuousClock.now, usage = self.usage.read()
        let wall = (now - last).inSeconds, index = Phase.allCases.firstIndex(of: phase)!
        let inLoops = usage.loopSeconds - lastUsage.loopSeconds
        seconds[index] += wall
        waitingSeconds[index] += usage.waitSeconds - lastUsage.waitSeconds + max(0, wall - inLoops) * Double(workers - 1)
        last = now
        lastUsage = usage
    }

    /// Seconds of `phase` so far.
    public subscript(phase: Phase) -> Double { seconds[Phase.allCases.firstIndex(of: phase)!] }

    /// The share of the workers' time in `phase` spent waiting (0 when it never ran).
    public func waitingShare(_ phase: Phase) -> Double {
        let index = Phase.allCases.firstIndex(of: phase)!
        return seconds[index] > 0 ? waitingSeconds[index] / (seconds[index] * Double(workers)) : 0
    }
}
