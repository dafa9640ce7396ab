import Foundation
import Testing
@testable import Models

/// `StepPhases`: with phases set, every pass of a step marks its phase, and the phases add up to
/// no more than the steps took; without, nothing is recorded.
@Suite struct StepPhasesTests {
    @Test func everyPhaseOfAStepIsTimedAndTheyAddUpToTheSteps() throws {
        let corpus = try CharacterCorpus(text: String(repeating: "every phase of a step is timed. ", count: 40), source: "test text")
        let model = ModelConfig(vocabulary: corpus.vocabulary, context: 16, layers: 2, dModel: 16, heads: 2)
        let task = try CharacterCorpusTask(corpus: corpus, context: 16)
        let settings = TrainingConfig(model: model, schedule: .constant(3e-3), steps: 10, batch: 4, evaluationBatch: 4)
        let transformer = try Transformer(config: model, seed: 1, maxBatch: 4, threads: 2)
        transformer.blocksRows = false   // blocked, attention marks its projections with it
        let trainer = try Trainer(config: settings, model: transformer, task: task)
        try trainer.trainStep()
        let phases = StepPhases(workers: 2)
        trainer.phases = phases
        #expect(transformer.phases === phases, "the trainer hands its phases to the transformer")
        let start = ContinuousClock.now
        for _ in 0..<3 { try trainer.trainStep() }
        let wall = (ContinuousClock.now - start).inSeconds
        for phase in StepPhases.Phase.allCases {
            #expect(phases[phase] > 0, "\(phase.rawValue) was never marked")
        }
        let total = phases.seconds.reduce(0, +)
        #expect(total <= wall, "the phases (\(total) s) exceed the steps' wall time (\(wall) s)")
        // Waiting is a share of the two workers' time in each phase; the batch is drawn on the
        // caller alone, so its helper waits throughout (one worker of two: half).
        for phase in StepPhases.Phase.allCases {
            let share = phases.waitingShare(phase)
            #expect(share >= 0 && share <= 1.000_001, "\(phase.rawValue): waiting share \(share)")
        }
        #expect(abs(phases.waitingShare(.other) - 0.5) < 1e-9, "batch and checks: \(phases.waitingShare(.other))")
        #expect(phases.waitingSeconds.reduce(0, +) > 0)
        trainer.phases = nil
        #expect(transformer.phases == nil)
        try trainer.trainStep()
        #expect(phases.seconds.reduce(0, +) == total, "a step without phases still marked them")
    }
}
