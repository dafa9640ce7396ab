import Foundation
import Models
import Testing

/// Optimisers against float64 transcriptions of PyTorch's update rules.
@Suite struct OptimizerTests {
    /// Two tensors, one that decays (a ragged 3×7, so the SIMD tail runs) and one that does not.
    static func store() -> ParameterStore {
        let store = ParameterStore([("w", [3, 7], true), ("gain", [5], false)])
        for i in 0..<store.count { store.values[i] = Float(sin(Double(i) * 0.7)) }
        return store
    }

    static func setGradients(_ store: ParameterStore, step: Int) {
        for i in 0..<store.count { store.gradients[i] = Float(cos(Double(i) * 1.3 + Double(step))) * 0.1 }
    }

    static func relativeError(_ a: [Double], _ b: [Double]) -> Double {
        let difference = zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return difference / max(1e-30, b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    @Test func adamWFollowsTheDecoupledRule() {
        let store = OptimizerTests.store()
        let optimizer = AdamW(count: store.count, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        var w = (0..<store.count).map { Double(store.values[$0]) }
        var m = [Double](repeating: 0, count: store.count), v = m
        let decays = store.entries.flatMap { entry in (0..<entry.count).map { _ in (entry.offset, entry.decays) } }
        let lr = 3e-3
        for step in 1...5 {
            OptimizerTests.setGradients(store, step: step)
            for entry in store.entries {
                for i in entry.offset..<entry.offset + entry.count {
                    let g = Double(store.gradients[i])
                    if entry.decays { w[i] *= 1 - lr * 0.1 }
                    m[i] = 0.9 * m[i] + 0.1 * g
                    v[i] = 0.99 * v[i] + 0.01 * g * g
                    let denominator = (v[i] / (1 - pow(0.99, Double(step)))).squareRoot() + 1e-8
                    w[i] -= lr / (1 - pow(0.9, Double(step))) * m[i] / denominator
                }
            }
            optimizer.update(store, learningRate: Float(lr))
        }
        _ = decays
        let got = store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count).map { Double(store.values[$0]) } }
        let expected = store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count).map { w[$0] } }
        // Five float32 updates against float64: 1e-6 relative.
        #expect(OptimizerTests.relativeError(got, expected) <= 1e-6)
        #expect(optimizer.steps == 5)
    }

    /// On two threads AdamW splits the arena into pieces (of `AdamW.piece` elements, so a 40,000-
    /// element tensor spans three, the last with a SIMD tail): the same bits as one thread.
    @Test func adamWOnTwoThreadsGivesTheBitsOfOne() {
        func run(threads: Int) -> [UInt32] {
            let store = ParameterStore([("w", [200, 200], true), ("b", [13], false), ("e", [7, 5], true)])
            for i in 0..<store.count { store.values[i] = Float(sin(Double(i) * 0.7)) }
            let optimizer = AdamW(count: store.count, beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
            optimizer.threads = threads
            for step in 1...3 {
                OptimizerTests.setGradients(store, step: step)
                optimizer.update(store, learningRate: 3e-3)
            }
            return (0..<store.count).map { store.values[$0].bitPattern }
        }
        let one = run(threads: 1), two = run(threads: 2)
        #expect(one == two, "AdamW's result depends on its threads")
        #expect(one.count >= 40_048 && Set(one).count > 1_000)
    }

    @Test func sgdWithMomentumAndWeightDecay() {
        let store = OptimizerTests.store()
        let optimizer = SGD(count: store.count, momentum: 0.9, weightDecay: 0.01)
        var w = (0..<store.count).map { Double(store.values[$0]) }
        var buffer = [Double](repeating: 0, count: store.count)
        for step in 1...4 {
            OptimizerTests.setGradients(store, step: step)
            for entry in store.entries {
                for i in entry.offset..<entry.offset + entry.count {
                    let d = Double(store.gradients[i]) + (entry.decays ? 0.01 * w[i] : 0)
                    buffer[i] = step == 1 ? d : 0.9 * buffer[i] + d
                    w[i] -= 0.05 * buffer[i]
                }
            }
            optimizer.update(store, learningRate: 0.05)
        }
        let got = store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count).map { Double(store.values[$0]) } }
        let expected = store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count).map { w[$0] } }
        #expect(OptimizerTests.relativeError(got, expected) <= 1e-6)
    }

    @Test func clippingScalesToTheMaximumNormAndReportsTheNormBefore() {
        let store = OptimizerTests.store()
        OptimizerTests.setGradients(store, step: 0)
        let entries = store.entries.flatMap { entry in (entry.offset..<entry.offset + entry.count) }
        let norm = entries.reduce(0.0) { $0 + Double(store.gradients[$1] * store.gradients[$1]) }.squareRoot()
        let reported = clipGradients(store, maxNorm: 0.1)
        #expect(abs(Double(reported) - norm) <= 1e-6 * norm)
        let after = entries.reduce(0.0) { $0 + Double(store.gradients[$1] * store.gradients[$1]) }.squareRoot()
        #expect(abs(after - 0.1) <= 1e-5)
        #expect(clipGradients(store, maxNorm: 1) <= 0.1 + 1e-5, "under the limit nothing changes")
    }

    @Test func cosineScheduleWarmsUpThenDecaysToItsFloor() {
        let schedule = LearningRateSchedule.cosine(peak: 1e-3, warmup: 10, total: 110, floor: 1e-5)
        #expect(abs(schedule.rate(at: 0) - 1e-4) <= 1e-10 && schedule.rate(at: 9) == 1e-3)
        #expect(abs(schedule.rate(at: 60) - (1e-5 + (1e-3 - 1e-5) * 0.5)) <= 1e-9)
        #expect(abs(schedule.rate(at: 110) - 1e-5) <= 1e-10 && abs(schedule.rate(at: 500) - 1e-5) <= 1e-10)
        #expect(LearningRateSchedule.constant(3e-4).rate(at: 7) == 3e-4)
    }

    @Test func unknownOrBadOptimizersAreNamed() {
        #expect { _ = try OptimizerSettings.named("adagrad") } throws: { "\($0)".contains("use adamw") }
        #expect { _ = try OptimizerSettings.named("adamw", beta1: 1) } throws: { "\($0)".contains("betas") }
        #expect { _ = try OptimizerSettings.named("sgd", weightDecay: -1) } throws: { "\($0)".contains("weight decay") }
    }
}
