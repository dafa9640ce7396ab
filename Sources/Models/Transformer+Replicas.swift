/// Copies of a model for evaluations that split their work across threads by item rather than
/// inside each product: each copy runs one thread on its own arena, so two copies on two cores
/// pay no synchronisation per step (at d = 64 a step's products last tens of microseconds, and
/// waking a second worker for each costs a large share of that). A copy runs the same code on
/// one thread, and the products split rows and panels only, so its bits are the original's.
extension Transformer {
    /// `count` single-threaded copies: the same config, parameter values, interventions and
    /// product setting, each with its own arena for `maxBatch` sequences. Kept between calls and
    /// refreshed each time (parameters and interventions copied again), so a caller may train
    /// between evaluations. Hooks, routes and soft routing are not copied (the copies start with none).
    /// - Throws: `ModelError` only if the model's own shape is refused, which `init` already checked.
    /// - Complexity: O(count · parameters) copying, plus the arenas the first time.
    public func replicas(_ count: Int) throws(ModelError) -> [Transformer] {
        while replicaCache.count < count {
            replicaCache.append(try Transformer(config: config, initialSeed: nil, maxBatch: maxBatch, threads: 1))
        }
        let copies = Array(replicaCache.prefix(count))
        for copy in copies {
            copy.parameters.values.update(from: parameters.values, count: parameters.count)
            copy.interventions = interventions
            copy.usesOpenBLASProducts = usesOpenBLASProducts
            copy.hooks = ModelHooks()
            copy.routes = nil
            copy.mixture = nil
        }
        return copies
    }
}
