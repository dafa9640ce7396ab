import Foundation

/// Trains a model on a task: batches by (data seed, step), forward, backward, clip, update;
/// measures on a fixed evaluation batch every `evaluateEvery` steps; checkpoints so that a run
/// killed at any point and resumed gives the same losses bit for bit.
public final class Trainer {
    public let config: TrainingConfig
    public let model: any TrainableModel
    public let task: any TrainingTask
    public let optimizer: any Optimizer
    /// Wall time per phase of each step, when set (`loom bench train --phases`); a transformer
    /// model marks its own passes too.
    public var phases: StepPhases? {
        didSet { (model as? Transformer)?.phases = phases }
    }
    /// Steps done (where the next one starts).
    public private(set) var step = 0
    /// Extra measurements at each evaluation (mechanism probes): given the model and the fixed
    /// evaluation batch, named values. They must leave the model's parameters as they were.
    public var probe: ((any TrainableModel, TrainingBatch) throws -> [String: Double])?
    /// Stage-1 random routing for duo layers (Duo-LLM): each training step's routes are drawn
    /// from (routing seed, step), so a resumed run draws the same ones; evaluation uses the
    /// all-big route. Nil (the default) leaves the model's `routes` alone.
    public var routing: RandomRouting?
    /// What the training data is (its generator's version and settings), for tasks whose data
    /// `TrainingConfig` does not describe: saved with each checkpoint, and a checkpoint written
    /// for other data, or without a description, is refused on resume. Nil: not checked.
    public var dataDescription: String?
    private let evaluation: TrainingBatch
    private let positionLosses: UnsafeMutablePointer<Float>

    /// One measurement: the step after which it was taken, and named values.
    public struct Measurement: Sendable {
        public var step: Int
        public var values: [String: Double]
    }

    /// - Parameter model: built from `config.model` (and `config.seed`) by the caller.
    public init(config: TrainingConfig, model: any TrainableModel, task: any TrainingTask) throws(ModelError) {
        try config.validate()
        guard model.config == config.model else { throw .configuration("the model was built from another configuration") }
        guard task.vocabulary <= config.model.vocabulary else {
            throw .configuration("the task has \(task.vocabulary) tokens but the model's vocabulary is \(config.model.vocabulary)")
        }
        self.config = config
        self.model = model
        self.task = task
        optimizer = config.optimizer.make(for: model.parameters)
        if let adamw = optimizer as? AdamW, let transformer = model as? Transformer { adamw.threads = transformer.threads }
        // A fixed evaluation batch, from a seed no training step uses.
        evaluation = task.trainingBatch(size: config.evaluationBatch, length: config.model.context, seed: config.dataSeed &+ 0x9E37_79B9, step: -1)
        let positions = max(config.batch, config.evaluationBatch) * config.model.context
        positionLosses = .allocate(capacity: positions)
        positionLosses.initialize(repeating: 0, count: positions)
    }

    deinit { positionLosses.deallocate() }

    /// Continues from a checkpoint written by `checkpoint(to:)`.
    /// - Throws: `ModelError.checkpoint` if it was written for another configuration.
    public func resume(from directory: URL) throws(ModelError) {
        let manifest = try Checkpoint.restore(from: directory, into: model.parameters, optimizer: optimizer)
        guard manifest.model == config.model else { throw .checkpoint("\(directory.path) holds another model configuration") }
        if let saved = manifest.extra["training"], saved != Self.describe(config) {
            throw .checkpoint("\(directory.path) was written with other training settings (\(saved)); resume with the same ones")
        }
        if let data = dataDescription, manifest.extra["data"] != data {
            throw .checkpoint("\(directory.path) was written for other data (\(manifest.extra["data"] ?? "not recorded"), now \(data)); delete it to train anew")
        }
        step = manifest.step
    }

    /// Writes the state after `step` steps.
    public func checkpoint(to directory: URL) throws(ModelError) {
        try Checkpoint.save(to: directory, step: step, config: config.model, parameters: model.parameters,
                            optimizer: optimizer, extra: ["training": Self.describe(config)].merging(dataDescription.map { ["data": $0] } ?? [:]) { $1 })
    }

    static func describe(_ config: TrainingConfig) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(config), as: UTF8.self)) ?? ""
    }

    /// One training step; returns the batch's mean loss before the update, and the gradient norm.
    @discardableResult
    public func trainStep() throws(ModelError) -> (loss: Float, gradientNorm: Float) {
        phases?.start()
        let batch = task.trainingBatch(size: config.batch, length: config.model.context, seed: config.dataSeed, step: step)
        if let routing, let transformer = model as? Transformer {
            transformer.routes = routing.routes(tokens: batch.size * batch.length, layers: config.model.depth, step: step)
        }
        let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batch: batch.size, positionLosses: nil)
        model.backward()
        let norm = clipGradients(model.parameters, maxNorm: config.clipNorm)
        optimizer.update(model.parameters, learningRate: config.schedule.rate(at: step))
        phases?.mark(.optimizer)
        step += 1
        return (loss, norm)
    }

    /// Loss and the task's risks on the fixed evaluation batch.
    public func evaluate() throws(ModelError) -> [String: Double] {
        if routing != nil, let transformer = model as? Transformer { transformer.routes = nil }
        let loss = try model.forward(tokens: evaluation.inputs, targets: evaluation.targets, batch: evaluation.size,
                                     positionLosses: positionLosses)
        var values = task.risks(positionLosses: positionLosses, batch: evaluation)
        values[TrainingMetric.evalLoss.name] = Double(loss)
        if let probe {
            do {
                values.merge(try probe(model, evaluation)) { _, probed in probed }
            } catch let error as ModelError {
                throw error
            } catch {
                throw .input("a probe failed at step \(step): \(error)")
            }
        }
        return values
    }

    /// Trains until `config.steps`, measuring every `evaluateEvery` steps and at the end, and
    /// checkpointing into `checkpoints` (if given) every `checkpointEvery` steps and at the end.
    /// - Parameters:
    ///   - measure: receives each measurement (train loss averaged since the last one, risks, lr,
    ///     gradient norm, tokens/s).
    ///   - shouldStop: checked every step; the trainer checkpoints and returns when it says so.
    public func run(checkpoints: URL? = nil, shouldStop: () -> Bool = { false },
                    measure: (Measurement) -> Void) throws(ModelError) {
        var lossSum: Double = 0, lossCount = 0, lastNorm: Float = 0
        var windowStart = ContinuousClock.now, windowSteps = 0
        // A checkpoint resumed at its last step trains no more; it is still measured once, so
        // the run that resumed it stores the model's losses.
        if step >= config.steps && step > 0 {
            measure(Measurement(step: step, values: try evaluate()))
        }
        if step == 0 {
            var values = try evaluate()
            values[TrainingMetric.learningRate.name] = Double(config.schedule.rate(at: 0))
            measure(Measurement(step: 0, values: values))
        }
        while step < config.steps {
            if shouldStop() { break }
            let (loss, norm) = try trainStep()
            guard loss.isFinite else {
                throw .input("the loss became \(loss) at step \(step); lower the learning rate or turn on clipping")
            }
            lossSum += Double(loss); lossCount += 1; lastNorm = norm; windowSteps += 1
            if step % config.evaluateEvery == 0 || step == config.steps {
                let elapsed = ContinuousClock.now - windowStart
                var values = try evaluate()
                values[TrainingMetric.trainLoss.name] = lossSum / Double(max(1, lossCount))
                values[TrainingMetric.gradNorm.name] = Double(lastNorm)
                values[TrainingMetric.learningRate.name] = Double(config.schedule.rate(at: step - 1))
                let seconds = elapsed.inSeconds
                values[TrainingMetric.tokensPerSecond.name] = seconds > 0 ? Double(windowSteps * config.batch * config.model.context) / seconds : 0
                measure(Measurement(step: step, values: values))
                lossSum = 0; lossCount = 0; windowSteps = 0
                windowStart = ContinuousClock.now
            }
            if let checkpoints, config.checkpointEvery > 0, step % config.checkpointEvery == 0, step < config.steps {
                try checkpoint(to: checkpoints)
            }
        }
        if let checkpoints { try checkpoint(to: checkpoints) }
    }
}
