/// The duo layers' packed buffers (Duo-LLM's big and small FFNs side by side): per layer and per
/// module, the rows routed to it and their saved activations, packed contiguously so each module's
/// products run only on its own rows. Allocated once when the model is built, like `TrainingArena`.
///
/// `@unchecked Sendable`: owns its memory until `deinit`; kernels write disjoint packed rows.
final class DuoArena: @unchecked Sendable {
    /// One FFN (big or small) of one duo layer.
    struct Module: @unchecked Sendable {
        let hidden: Int
        /// Original row index (in the batch's N rows) of each packed row, (N).
        let rows: UnsafeMutablePointer<Int>
        /// LayerNorm 2 output of the packed rows, (N, d); their mean and 1/std, (N).
        let ln: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
        /// Hidden layer before and after the activation, (N, hidden).
        let pre: UnsafeMutablePointer<Float>, post: UnsafeMutablePointer<Float>
        /// Parameter values and gradients.
        let w1, w2, dw1, dw2: UnsafeMutablePointer<Float>
    }

    /// Per layer: [big, small] for duo layers, empty otherwise.
    let modules: [[Module]]
    /// Per layer, the last forward pass's row counts: [big, small, skip].
    var counts: [[Int]] = []
    /// FFN matrix products run by duo layers since the last forward began (forward and backward).
    var products = 0
    /// Scratch, (N, d) each: gathered rows of the stream, a packed module output or gradient, and
    /// a packed input gradient. (N, max hidden) each: hidden-layer gradients.
    let gathered, packed, packedInputGradient: UnsafeMutablePointer<Float>
    let dPost, dPre: UnsafeMutablePointer<Float>
    /// Soft routing (`Transformer.mixture`): whether the last forward pass mixed both modules on
    /// every row; its weights and, after backward, dL/dweights, (layers, N, 2) with [big, small]
    /// innermost; a copy of dL/d(output) of the layer being differentiated, (N, d), because both
    /// modules read it while each adds its input gradient into the live stream gradient.
    var isSoft = false, hasMixtureGradients = false
    let mixtureWeights, mixtureGradients, outputGradient: UnsafeMutablePointer<Float>
    private var allocations: [UnsafeMutableRawPointer] = []

    init(config: ModelConfig, maxBatch: Int, parameters: ParameterStore) {
        let n = maxBatch * config.context, d = config.dModel
        let widest = max(config.ffnHidden, config.smallFFNHidden)
        var allocations: [UnsafeMutableRawPointer] = []
        func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: max(16, count))
            pointer.initialize(repeating: 0, count: max(16, count))
            allocations.append(UnsafeMutableRawPointer(pointer))
            return pointer
        }
        func indices(_ count: Int) -> UnsafeMutablePointer<Int> {
            let pointer = UnsafeMutablePointer<Int>.allocate(capacity: max(1, count))
            pointer.initialize(repeating: 0, count: max(1, count))
            allocations.append(UnsafeMutableRawPointer(pointer))
            return pointer
        }
        func module(_ prefix: String, hidden: Int) -> Module {
            Module(hidden: hidden, rows: indices(n), ln: floats(n * d), mean: floats(n), rstd: floats(n),
                   pre: floats(n * hidden), post: floats(n * hidden),
                   w1: parameters.value(prefix + "w1"), w2: parameters.value(prefix + "w2"),
                   dw1: parameters.gradient(prefix + "w1"), dw2: parameters.gradient(prefix + "w2"))
        }
        modules = config.layers.enumerated().map { l, layer in
            guard layer.duo else { return [] }
            return [module("layers.\(l).ffn.", hidden: config.ffnHidden),
                    module("layers.\(l).ffn.small.", hidden: config.smallFFNHidden)]
        }
        gathered = floats(n * d); packed = floats(n * d); packedInputGradient = floats(n * d)
        dPost = floats(n * widest); dPre = floats(n * widest)
        mixtureWeights = floats(config.depth * n * 2); mixtureGradients = floats(config.depth * n * 2)
        outputGradient = floats(n * d)
        self.allocations = allocations
    }

    func reset(layers: Int) {
        counts = Array(repeating: [0, 0, 0], count: layers)
        products = 0
        isSoft = false
        hasMixtureGradients = false
    }

    deinit { for pointer in allocations { pointer.deallocate() } }
}
