import Foundation
import TensorCore
import Testing
@testable import Models

/// Training gives the same bits on any number of threads: the one sum over rows that crosses the
/// workers' pieces (LayerNorm's gain and bias gradients) goes by fixed blocks of rows, and the
/// loss by rows in order. A run resumed on a node with another core count continues exactly.
@Suite struct ThreadCountTests {
    /// Steps of a model with a plain and a duo FFN, on 1, 2 and 3 threads, at a row count that is
    /// a multiple of the reduction block and one that is not, and at 2,304 rows, where the
    /// weight gradients are cut along their depth (`WorkSplit.splitsDepth`, three blocks).
    @Test(arguments: [(context: 32, batch: 8), (context: 24, batch: 5), (context: 32, batch: 72)])
    func trainingOnAnyNumberOfThreadsGivesTheSameBits(shape: (context: Int, batch: Int)) throws {
        let corpus = try CharacterCorpus(text: String(repeating: "a node with more cores trains to the same weights. ", count: 30),
                                         source: "test text")
        var model = ModelConfig(vocabulary: corpus.vocabulary, context: shape.context, layers: 2, dModel: 32, heads: 2)
        model.layers[1].duo = true
        let task = try CharacterCorpusTask(corpus: corpus, context: shape.context)
        let settings = TrainingConfig(model: model, schedule: .constant(3e-3), steps: 3, batch: shape.batch, evaluationBatch: 2)
        var parameters: [[UInt32]] = [], losses: [[UInt32]] = []
        for threads in [1, 2, 3] {
            let trainer = try Trainer(config: settings, model: try Transformer(config: model, seed: 4, maxBatch: shape.batch, threads: threads),
                                      task: task)
            trainer.routing = try RandomRouting(pBig: 0.5, pSkip: 0.25, seed: 2)
            var stepLosses: [UInt32] = []
            for _ in 0..<3 {
                let step = try trainer.trainStep()
                stepLosses += [step.loss.bitPattern, step.gradientNorm.bitPattern]
            }
            parameters.append(CheckpointTests.bits(trainer.model.parameters))
            losses.append(stepLosses)
        }
        let rows = shape.context * shape.batch
        // Compared as Bools: a failing array comparison would print every parameter.
        let sameParameters = parameters[0] == parameters[1] && parameters[0] == parameters[2]
        #expect(sameParameters, "parameters after 3 steps differ between 1, 2 and 3 threads (\(rows) rows)")
        #expect(losses[0] == losses[1] && losses[0] == losses[2], "losses and gradient norms: \(losses)")
        let finite = losses[0].allSatisfy { Float(bitPattern: $0).isFinite }
        #expect(finite)
    }

    /// Pieces aligned to a block keep every block on one worker, cover every row once, in order,
    /// even or balanced; every piece names a worker that exists.
    @Test(arguments: [false, true])
    func alignedPiecesKeepBlocksWhole(balanced: Bool) {
        for threads in 1...5 {
            let split = WorkSplit(threads: threads)
            for count in [1, 63, 64, 65, 120, 256, 1000, 4096] {
                let seen = Seen()
                split.rows(count, aligned: 64, balanced: balanced) { range, worker in seen.add(range, worker) }
                let pieces = seen.ranges.sorted { $0.lowerBound < $1.lowerBound }
                #expect(pieces.first?.lowerBound == 0 && pieces.last?.upperBound == count, "\(threads) threads, \(count) rows: \(pieces)")
                #expect(zip(pieces, pieces.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                #expect(pieces.dropLast().allSatisfy { $0.upperBound % 64 == 0 && !$0.isEmpty }, "\(pieces)")
                #expect(seen.workers.allSatisfy { (0..<threads).contains($0) }, "workers \(seen.workers) on \(threads) threads")
            }
        }
    }

    /// Balanced units: about count / (16·threads) rows, at least the grain, on the alignment;
    /// a stretch's owner takes from its front and the others from its end, each unit once.
    @Test func balancedUnitsAndTheirStretches() {
        let (unit, units) = WorkSplit.homeUnits(4096, threads: 2, aligned: 64, grain: 132)
        #expect(unit == 192 && units == 22, "\(unit) rows × \(units)")
        #expect(WorkSplit.homeUnits(4096, threads: 2, aligned: 132, grain: 1) == (132, 32))
        #expect(WorkSplit.homeUnits(64, threads: 2, aligned: 8, grain: 8) == (8, 8))
        #expect(WorkSplit.homeUnits(7, threads: 3, aligned: 1, grain: 1) == (1, 7))
        #expect(WorkSplit.homeUnits(0, threads: 2, aligned: 8, grain: 1).units == 0)
        let stretch = UnitStretch(first: 3, end: 7)
        let taken = [stretch.takeFirst(), stretch.takeLast(), stretch.takeFirst(), stretch.takeLast(), stretch.takeFirst(), stretch.takeLast()]
        #expect(taken == [3, 6, 4, 5, nil, nil], "\(taken)")
    }

    /// Balanced attention pieces hold whole blocks of sequences when the batch has room for
    /// eight such pieces, on the alignment LayerNorm's sums need.
    @Test func attentionPiecesHoldWholeBlocks() {
        #expect(Transformer.wholeBlocks(1, 4, of: 64) == 4)
        #expect(Transformer.wholeBlocks(2, 8, of: 64) == 8)
        #expect(Transformer.wholeBlocks(8, 10, of: 64) == 8)   // 40 would leave fewer than 8 pieces
        #expect(Transformer.wholeBlocks(1, 4, of: 16) == 1)
    }

    final class Seen: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var ranges: [Range<Int>] = []
        private(set) var workers: [Int] = []
        func add(_ range: Range<Int>, _ worker: Int) { lock.lock(); ranges.append(range); workers.append(worker); lock.unlock() }
    }
}
