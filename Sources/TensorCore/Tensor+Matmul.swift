/// The extents of one matrix product `op(A)·op(B)`, checked once before any arithmetic.
struct MatmulPlan {
    /// The number of independent products (1 for two matrices).
    var batch: Int
    /// op(A) is m × k, op(B) is k × n, the result is m × n.
    var m: Int, n: Int, k: Int
    /// Elements between consecutive batch items of A and B; 0 for a matrix shared by all items.
    var strideA: Int, strideB: Int
    /// Leading dimensions: the stored row length of A and B.
    var lda: Int, ldb: Int
    /// `[m, n]`, or `[batch, m, n]` when either operand has a batch axis.
    var outputShape: [Int]

    /// Plans `op(a)·op(b)` or throws `.shapeMismatch(operation: "matmul", a, b)`.
    init(_ a: [Int], _ b: [Int], transposeA: Bool, transposeB: Bool) throws(TensorError) {
        let mismatch = TensorError.shapeMismatch(operation: "matmul", a, b)
        guard (2...3).contains(a.count), (2...3).contains(b.count) else { throw mismatch }
        let batchA = a.count == 3 ? a[0] : nil
        let batchB = b.count == 3 ? b[0] : nil
        if let batchA, let batchB, batchA != batchB { throw mismatch }
        let (aRows, aColumns) = (a[a.count - 2], a[a.count - 1])
        let (bRows, bColumns) = (b[b.count - 2], b[b.count - 1])
        let (m, kA) = transposeA ? (aColumns, aRows) : (aRows, aColumns)
        let (kB, n) = transposeB ? (bColumns, bRows) : (bRows, bColumns)
        guard kA == kB else { throw mismatch }
        // cblas takes Int32 extents; a larger one would trap in the conversion.
        guard [m, n, kA, aColumns, bColumns].allSatisfy({ $0 <= Int(Int32.max) }) else {
            throw .invalidShape("matmul of \(Tensor.describe(a)) and \(Tensor.describe(b)): "
                                    + "an extent exceeds cblas's Int32 limit \(Int32.max)")
        }
        self.m = m
        self.n = n
        self.k = kA
        batch = batchA ?? batchB ?? 1
        strideA = batchA == nil ? 0 : aRows * aColumns
        strideB = batchB == nil ? 0 : bRows * bColumns
        lda = aColumns
        ldb = bColumns
        outputShape = (batchA ?? batchB).map { [$0, m, n] } ?? [m, n]
    }
}

/// The matrix product `α·op(a)·op(b)` of two matrices, or of batches of them, through OpenBLAS.
///
/// `op(x)` is `x` or its transpose (of the last two axes). Shapes: `[m, k]·[k, n] → [m, n]`;
/// `[B, m, k]·[B, k, n] → [B, m, n]`; a 2-D operand beside a 3-D one is shared by every batch
/// item (`[B, m, k]·[k, n] → [B, m, n]`, as for a weight matrix).
/// - Parameters:
///   - a: a 2-D or 3-D tensor; with `transposeA` its last two axes are `[k, m]`.
///   - b: a 2-D or 3-D tensor; with `transposeB` its last two axes are `[n, k]`.
///   - transposeA: whether to use a's transpose.
///   - transposeB: whether to use b's transpose.
///   - alpha: α, scales the product.
/// - Returns: a new `[m, n]` or `[B, m, n]` tensor.
/// - Throws: `TensorError.shapeMismatch(operation: "matmul", a.shape, b.shape)` when the ranks are
///   not 2 or 3, the inner extents differ or the batch extents differ.
/// - Complexity: 2·B·m·n·k floating-point operations.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                   alpha: Float = 1) throws(TensorError) -> Tensor {
    let plan = try MatmulPlan(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB)
    var c = Tensor(uncheckedZeros: plan.outputShape)
    multiply(a, b, into: &c, plan: plan, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: 0)
    return c
}

/// The matrix product `c ← α·op(a)·op(b) + β·c` written into an existing tensor, for callers that
/// must not allocate (reused activation and gradient buffers).
///
/// Shapes follow `matmul(_:_:transposeA:transposeB:alpha:)`. With β = 0 the old contents of `c`
/// are ignored (even NaN); β = 1 accumulates, as backward passes do. If `c` shares storage with
/// `a` or `b` (copy on write), writing copies it first, so the result is still correct.
/// - Parameters:
///   - a: a 2-D or 3-D tensor.
///   - b: a 2-D or 3-D tensor.
///   - c: the output, already of the result's shape.
///   - transposeA: whether to use a's transpose.
///   - transposeB: whether to use b's transpose.
///   - alpha: α, scales the product.
///   - beta: β, scales the old contents of `c`.
/// - Throws: `TensorError.shapeMismatch(operation: "matmul", a.shape, b.shape)` when `a` and `b`
///   do not fit, and `.shapeMismatch(operation: "matmul output", expected, c.shape)` when `c`
///   does not have the result's shape. Nothing is written when it throws.
/// - Complexity: 2·B·m·n·k floating-point operations.
public func matmul(_ a: Tensor, _ b: Tensor, into c: inout Tensor, transposeA: Bool = false,
                   transposeB: Bool = false, alpha: Float = 1, beta: Float = 0) throws(TensorError) {
    let plan = try MatmulPlan(a.shape, b.shape, transposeA: transposeA, transposeB: transposeB)
    guard c.shape == plan.outputShape else {
        throw .shapeMismatch(operation: "matmul output", plan.outputShape, c.shape)
    }
    multiply(a, b, into: &c, plan: plan, transposeA: transposeA, transposeB: transposeB, alpha: alpha, beta: beta)
}

/// Runs a checked plan: one sgemm per batch item, or a single one when the batch folds into rows.
private func multiply(_ a: Tensor, _ b: Tensor, into c: inout Tensor, plan: MatmulPlan,
                      transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float) {
    let outputStride = plan.m * plan.n
    guard outputStride > 0, plan.batch > 0 else { return }
    c.withUnsafeMutableBufferPointer { output in
        guard let cStart = output.baseAddress else { return }
        guard plan.k > 0 else {
            // An empty sum: c ← β·c. cblas would reject lda = 0 rather than do this.
            if beta == 0 { output.update(repeating: 0) } else { for i in output.indices { output[i] *= beta } }
            return
        }
        a.withUnsafeBufferPointer { aBuffer in
            b.withUnsafeBufferPointer { bBuffer in
                guard let aStart = aBuffer.baseAddress, let bStart = bBuffer.baseAddress else { return }
                let opA: BLAS.Transpose = transposeA ? .transposed : .none
                let opB: BLAS.Transpose = transposeB ? .transposed : .none
                // A batch of untransposed A against one shared B is a single (B·m) × k product.
                if plan.strideB == 0, plan.strideA > 0, !transposeA, plan.batch * plan.m <= Int(Int32.max) {
                    BLAS.sgemm(opA, opB, m: plan.batch * plan.m, n: plan.n, k: plan.k, alpha: alpha,
                               a: aStart, lda: plan.lda, b: bStart, ldb: plan.ldb,
                               beta: beta, c: cStart, ldc: plan.n)
                    return
                }
                for item in 0..<plan.batch {
                    BLAS.sgemm(opA, opB, m: plan.m, n: plan.n, k: plan.k, alpha: alpha,
                               a: aStart + item * plan.strideA, lda: plan.lda,
                               b: bStart + item * plan.strideB, ldb: plan.ldb,
                               beta: beta, c: cStart + item * outputStride, ldc: plan.n)
                }
            }
        }
    }
}
