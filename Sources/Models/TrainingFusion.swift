/// The fused passes of a training step, each of which can be switched off to measure what it
/// gains (`Transformer.unfused`, `loom bench fusions`). A step gives the same bits either way.
public enum TrainingFusion: String, CaseIterable, Sendable {
    /// Each (sequence, head) item of the attention, forward and backward, as one call for the
    /// tile's vector unit (`FusedKernels.causalAttention` and its backward) instead of TiledGEMM
    /// per 16-query block and the row passes; where the fused kernels take the shape.
    case attention = "attention"
    /// The backward's part of that alone: with it off, the forward stays fused.
    case attentionBackward = "attention-backward"
    /// dL/dlogits written by the forward's cross-entropy, not by a pass of the backward.
    case crossEntropy = "cross-entropy"
    /// ReLU's backward as the mask epilogue of the product that forms dL/d(pre-activation).
    case reluMask = "relu-mask"
    /// LayerNorm backward and GELU on each group of rows inside the product that forms them.
    /// Worth 2–5 % of a step on Zen 3; 1–2 % slower than the passes whole on Zen 4 and Zen 5.
    case rowPasses = "row-passes"
    /// Not a fused pass but measured like one: the blocked phases' rows in units, each worker
    /// taking its own stretch's first and then what a slower one left (`WorkSplit.rows(balanced:)`),
    /// not in even halves.
    case balancedPieces = "balanced-pieces"
    /// The final LayerNorm, the logits and the cross-entropy a block of rows at a time, in one
    /// parallel loop (`Transformer.blockedHead`), not three passes over all rows.
    case headBlocks = "head-blocks"
    /// Not a fused pass but measured like one: a weight gradient's transposed operand, read in
    /// place by the tile, asked for ahead of it (`TiledGEMM.asksAhead`). Switched off for the
    /// whole process while this model's forward or backward pass runs.
    case operandPrefetch = "operand-prefetch"
}
