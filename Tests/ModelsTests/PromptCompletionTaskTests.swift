import Testing
@testable import Models

/// Prompt–completion batches: loss only on the completion, padding never a target, batches a
/// function of (seed, step), and bad examples refused before training.
@Suite struct PromptCompletionTaskTests {
    typealias Example = PromptCompletionTask.Example

    @Test func aRowTargetsTheCompletionOnly() {
        // Prompt [5, 6, 7], completion [8, 9]; padding 0; length 7.
        let row = PromptCompletionTask.row(Example(prompt: [5, 6, 7], completion: [8, 9]), length: 7, padding: 0)
        #expect(row.inputs == [5, 6, 7, 8, 9, 0, 0])
        // Position 2 (token 7) predicts 8, position 3 predicts 9; nothing else is a target.
        #expect(row.targets == [-1, -1, 8, 9, -1, -1, -1])
        // A sequence of exactly length + 1 tokens: its last token is a target, not an input.
        let full = PromptCompletionTask.row(Example(prompt: [1], completion: [2, 3, 4]), length: 3, padding: 0)
        #expect(full.inputs == [1, 2, 3] && full.targets == [2, 3, 4])
    }

    @Test func batchesDependOnlyOnSeedAndStepAndSplit() throws {
        let training = (0..<20).map { (i: Int) -> Example in
            let first = Int32(1 + i % 5), second = Int32(6 + i % 3)
            return Example(prompt: [first], completion: [second, 9])
        }
        let validation = [Example(prompt: [2, 2], completion: [3])]
        let task = try PromptCompletionTask(training: training, validation: validation, vocabulary: 10, padding: 0, context: 4)
        let a = task.batch(size: 8, length: 4, seed: 1, step: 3), b = task.batch(size: 8, length: 4, seed: 1, step: 3)
        #expect(a.inputs == b.inputs && a.targets == b.targets)
        #expect(task.batch(size: 8, length: 4, seed: 1, step: 4).inputs != a.inputs || task.batch(size: 8, length: 4, seed: 2, step: 3).inputs != a.inputs)
        let held = task.batch(size: 3, length: 4, seed: 1, step: -1)
        #expect(held.inputs == [2, 2, 3, 0, 2, 2, 3, 0, 2, 2, 3, 0] && held.targets == [-1, 3, -1, -1, -1, 3, -1, -1, -1, 3, -1, -1])
        // Every training row's targets are its completion, in place.
        for r in 0..<8 {
            let targets = Array(a.targets[(r * 4)..<(r * 4 + 4)]).filter { $0 >= 0 }
            #expect(targets.count == 2 && targets[1] == 9 && (6...8).contains(targets[0]))
        }
    }

    @Test func badExamplesAreRefusedWithTheirPlace() {
        func refuses(_ training: [Example], vocabulary: Int = 10, context: Int = 4, _ phrase: String) {
            do {
                _ = try PromptCompletionTask(training: training, validation: [Example(prompt: [1], completion: [2])],
                                             vocabulary: vocabulary, padding: 0, context: context)
                Issue.record("accepted: \(phrase)")
            } catch {
                #expect("\(error)".contains(phrase), "\(error)")
            }
        }
        refuses([], "the training split has no examples")
        refuses([Example(prompt: [1], completion: [2]), Example(prompt: [1, 2, 3], completion: [4, 5, 6])],
                "training example 1 has 6 tokens but a context of 4 holds 5; use a context of at least 5")
        refuses([Example(prompt: [], completion: [2])], "training example 0 has an empty prompt or completion")
        refuses([Example(prompt: [1], completion: [12])], "training example 0 holds token 12, outside the vocabulary 0..<10")
    }
}
