/// What a forward or backward kernel call computes, apart from its buffers: the problem's shape,
/// its mask and score function, the softmax scale and the block sizes the work is tiled by.
struct KernelSetup: Sendable {
    let shape: AttentionShape
    let mask: AttentionMask
    let score: ScoreFunction
    let scale: Float
    let queryBlock: Int
    let keyBlock: Int
}

/// A kernel reads its setup's fields by name, as if they were its own.
protocol BlockKernel {
    var setup: KernelSetup { get }
}

extension BlockKernel {
    var shape: AttentionShape { setup.shape }
    var mask: AttentionMask { setup.mask }
    var score: ScoreFunction { setup.score }
    var scale: Float { setup.scale }
    var queryBlock: Int { setup.queryBlock }
    var keyBlock: Int { setup.keyBlock }
}
