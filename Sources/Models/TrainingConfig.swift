/// Everything that decides a training run: the model, the optimiser and its schedule, the
/// batches, and how often to measure and checkpoint. Saved in every checkpoint.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public var model: ModelConfig
    public var optimizer: OptimizerSettings
    public var schedule: LearningRateSchedule
    public var steps: Int
    public var batch: Int
    /// The seed of the initial weights.
    public var seed: UInt64
    /// The seed of the data; batch k depends only on (dataSeed, k).
    public var dataSeed: UInt64
    /// Clip gradients to this global norm; 0: no clipping.
    public var clipNorm: Float
    /// Measure on the fixed evaluation batch every this many steps (and at the end).
    public var evaluateEvery: Int
    public var evaluationBatch: Int
    /// Checkpoint every this many steps; 0: only at the end.
    public var checkpointEvery: Int

    public init(model: ModelConfig, optimizer: OptimizerSettings = .adamw(), schedule: LearningRateSchedule = .constant(3e-4),
                steps: Int, batch: Int, seed: UInt64 = 0, dataSeed: UInt64 = 1, clipNorm: Float = 1,
                evaluateEvery: Int = 100, evaluationBatch: Int = 64, checkpointEvery: Int = 0) {
        self.model = model; self.optimizer = optimizer; self.schedule = schedule; self.steps = steps; self.batch = batch
        self.seed = seed; self.dataSeed = dataSeed; self.clipNorm = clipNorm; self.evaluateEvery = evaluateEvery
        self.evaluationBatch = evaluationBatch; self.checkpointEvery = checkpointEvery
    }

    /// Checks the settings (and the model's) before anything is allocated.
    public func validate() throws(ModelError) {
        try model.validate()
        try optimizer.validate()
        guard steps >= 1 else { throw .configuration("steps must be at least 1 (got \(steps))") }
        guard batch >= 1 else { throw .configuration("batch must be at least 1 (got \(batch))") }
        guard evaluationBatch >= 1 else { throw .configuration("evaluation batch must be at least 1 (got \(evaluationBatch))") }
        // The model's rows (Transformer's bound), checked before the batches are allocated;
        // the context is at most 2^24, so the products below cannot overflow once each batch is.
        for (name, sequences) in [("batch", batch), ("evaluation batch", evaluationBatch)] {
            guard sequences <= 1 << 24, sequences * model.context <= 1 << 24 else {
                throw .configuration("\(name)·context = \(sequences)·\(model.context) rows is more than Loom's 2^24; lower the \(name) or the context")
            }
        }
        guard evaluateEvery >= 1 else { throw .configuration("evaluate_every must be at least 1 (got \(evaluateEvery))") }
        guard checkpointEvery >= 0 else { throw .configuration("checkpoint_every must be ≥ 0 (got \(checkpointEvery))") }
        // Checkpoints fall on measurement steps, so a resumed run's averaged train loss covers
        // the same steps as an uninterrupted one.
        guard checkpointEvery % evaluateEvery == 0 else {
            throw .configuration("checkpoint_every (\(checkpointEvery)) must be a multiple of evaluate_every (\(evaluateEvery))")
        }
        guard clipNorm >= 0, clipNorm.isFinite else { throw .configuration("clip must be ≥ 0 (got \(clipNorm)); 0 turns clipping off") }
        switch schedule {
        case let .constant(rate):
            guard rate > 0, rate.isFinite else { throw .configuration("the learning rate must be positive (got \(rate))") }
        case let .cosine(peak, warmup, total, floor):
            guard peak > 0, floor >= 0, floor <= peak, warmup >= 0, total >= warmup else {
                throw .configuration("a cosine schedule needs peak > 0, 0 ≤ floor ≤ peak and 0 ≤ warmup ≤ total")
            }
        }
    }
}
