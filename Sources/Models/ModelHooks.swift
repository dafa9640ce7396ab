import TensorCore

/// What the next forward pass records, and what it recorded, per layer and head.
///
/// All flags are off by default, and then the forward pass does no extra work. Scores and
/// weights are O(batch·H·T²), so ask only for the layers you need (`layers`).
public struct ModelHooks: Sendable {
    /// One layer's captured tensors (nil where not asked for, or where the layer has no attention).
    public struct Capture: Sendable {
        /// Pre-softmax scores q·k/√dh, (batch, H, T, T); masked (future) entries are −∞.
        public var scores: Tensor?
        /// Attention weights as used, after any forced pattern, (batch, H, T, T).
        public var weights: Tensor?
        /// Per-head values v = LN₁(x)·W_V before W_O, (batch, T, H, dh), after any zeroed first value.
        public var values: Tensor?
        /// Each head's contribution to the residual stream after W_O, (batch, H, T, d).
        public var headOutputs: Tensor?
        /// Each head's value at each position after W_O (`W_O v`, not mixed by attention), (batch, H, T, d).
        public var valueOutputs: Tensor?
        /// The residual stream after the attention add, (batch, T, d).
        public var residualAfterAttention: Tensor?
        /// The residual stream after the FFN add (the layer's output, after any zeroed first row), (batch, T, d).
        public var residualAfterFFN: Tensor?
        /// Nothing captured.
        public init() {}
    }

    /// Record `Capture.scores`, (batch, H, T, T) per layer.
    public var captureScores = false
    /// Record `Capture.weights`, (batch, H, T, T) per layer.
    public var captureWeights = false
    /// Record `Capture.values`, (batch, T, H, dh) per layer.
    public var captureValues = false
    /// Record `Capture.headOutputs`, (batch, H, T, d) per layer (one extra small product per head).
    public var captureHeadOutputs = false
    /// Record `Capture.valueOutputs`, (batch, H, T, d) per layer (one extra small product per head).
    public var captureValueOutputs = false
    /// Record `Capture.residualAfterAttention` and `Capture.residualAfterFFN`, (batch, T, d) per layer.
    public var captureResiduals = false
    /// The layers to capture; nil means every layer.
    public var layers: Set<Int>? = nil

    /// What the last forward pass captured, keyed by layer; cleared at the start of each forward.
    public internal(set) var captured: [Int: Capture] = [:]

    /// Nothing captured.
    public init() {}

    /// Whether any capture is asked for.
    public var isEnabled: Bool {
        captureScores || captureWeights || captureValues || captureHeadOutputs || captureValueOutputs || captureResiduals
    }

    /// Whether layer `layer` records anything on the next forward pass.
    func captures(layer: Int) -> Bool { isEnabled && (layers?.contains(layer) ?? true) }
}
