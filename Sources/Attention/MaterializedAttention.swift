import Foundation
import TensorCore

/// The naive float32 baseline: softmax attention that materialises each head's n×m score matrix.
///
/// Per query head h (reading key/value head h' = h / (H / Hkv)), with scale 1/√d unless given:
/// 1. `S = scale · Q_h · K_h'ᵀ` by one sgemm (`[n, m]`), reading the head-interleaved `[n, H, d]`
///    and `[m, Hkv, d]` tensors in place with leading dimensions H·d and Hkv·d;
/// 2. each row i, over the keys `mask` shows it: `P = exp(S − max) / Σ exp(S − max)` (the running
///    max keeps `exp` from overflowing past s ≈ 88.7), masked entries 0, `lse = max + log Σ`;
/// 3. `O_h = P · V_h'` by a second sgemm, written into `output[:, h, :]`.
///
/// It is what the blockwise kernel is measured and checked against in `loom bench attention`: the
/// same answer (softmax only) with the straightforward schedule. Memory is O(n·m) by design, one
/// float32 score matrix reused across heads (64 MiB at n = m = 4096), so callers bound n·m.
/// Both products run on OpenBLAS's threads (`BLAS.threadCount`); the row softmax, which is O(n·m)
/// against the products' O(n·m·d), runs on the calling thread with 16-wide `fastExp`.
public enum MaterializedAttention {
    /// Softmax attention of `query` over `key`/`value` through a materialised score matrix.
    /// - Parameters:
    ///   - query: `[n, H, d]`.
    ///   - key: `[m, Hkv, d]`, H a multiple of Hkv.
    ///   - value: `[m, Hkv, d]`.
    ///   - mask: which keys each query sees; a query that sees none gets output 0 and lse −∞.
    ///   - scale: the score scale; nil means 1/√d.
    /// - Returns: `output [n, H, d]` and `logSumExp [n, H]` (natural log).
    /// - Throws: `AttentionError.shape` when the shapes do not fit (see `AttentionShape`).
    /// - Complexity: O(n·m·H·d) time, O(n·m) extra memory.
    public static func forward(query: Tensor, key: Tensor, value: Tensor, mask: AttentionMask = .none,
                               scale: Float? = nil) throws(AttentionError) -> PartialAttention {
        let shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        let n = shape.queries, m = shape.keys, heads = shape.heads, keyHeads = shape.keyHeads
        let d = shape.headDimension
        var result = PartialAttention(empty: n, heads: heads, headDimension: d)
        guard n > 0, m > 0 else { return result }                  // no keys: out 0, lse −∞ already
        let alpha = scale ?? 1 / Float(d).squareRoot()
        var scores = [Float](repeating: 0, count: n * m)           // [n, m]: one head's S, then P
        query.withUnsafeBufferPointer { q in
            key.withUnsafeBufferPointer { k in
                value.withUnsafeBufferPointer { v in
                    result.output.withUnsafeMutableBufferPointer { o in
                        result.logSumExp.withUnsafeMutableBufferPointer { l in
                            scores.withUnsafeMutableBufferPointer { s in
                                let q = q.baseAddress!, k = k.baseAddress!, v = v.baseAddress!
                                let o = o.baseAddress!, l = l.baseAddress!, s = s.baseAddress!
                                for h in 0..<heads {
                                    let kvHead = h / shape.groupSize
                                    BLAS.sgemm(.none, .transposed, m: n, n: m, k: d, alpha: alpha,
                                               a: q + h * d, lda: heads * d,
                                               b: k + kvHead * d, ldb: keyHeads * d,
                                               beta: 0, c: s, ldc: m)
                                    softmaxRows(s, rows: n, columns: m, mask: mask, head: h, heads: heads, lse: l)
                                    BLAS.sgemm(.none, .none, m: n, n: d, k: m, alpha: 1,
                                               a: s, lda: m,
                                               b: v + kvHead * d, ldb: keyHeads * d,
                                               beta: 0, c: o + h * d, ldc: heads * d)
                                }
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// Softmax of every row of one head's `[rows, columns]` score matrix in place, writing each
    /// row's log-sum-exp to `lse[i · heads + head]`.
    ///
    /// Rows are shared out over as many threads as OpenBLAS uses for the two products, so the
    /// baseline is not held back by a single-threaded middle step.
    static func softmaxRows(_ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int, mask: AttentionMask,
                            head: Int, heads: Int, lse: UnsafeMutablePointer<Float>) {
        let chunk = 64
        let chunks = (rows + chunk - 1) / chunk
        let rowsPointer = UncheckedPointers(scores: scores, lse: lse)
        Parallel.forEach(chunks, threads: BLAS.threadCount, setup: { _ in () }, body: { index, _ in
            for i in (index * chunk)..<min(rows, (index + 1) * chunk) {
                let visible = mask.visibleKeys(query: i, keyCount: columns)
                rowsPointer.lse[i * heads + head] = softmaxRow(rowsPointer.scores + i * columns, count: columns,
                                                               visible: visible)
            }
        })
    }

    /// The score matrix and lse pointers, shared by the softmax threads.
    ///
    /// `@unchecked Sendable`: each thread writes only its own rows of both.
    private struct UncheckedPointers: @unchecked Sendable {
        let scores: UnsafeMutablePointer<Float>
        let lse: UnsafeMutablePointer<Float>
    }

    /// Turns one row of scores into softmax weights over `visible`, zeroing the rest.
    /// - Returns: the row's lse, or −∞ when `visible` is empty (the row is then all zeros).
    /// - Precondition: `row` holds `count` floats and `visible` lies in `0..<count`.
    /// - Complexity: O(count).
    static func softmaxRow(_ row: UnsafeMutablePointer<Float>, count: Int, visible: Range<Int>) -> Float {
        row.update(repeating: 0, count: visible.lowerBound)
        (row + visible.upperBound).update(repeating: 0, count: count - visible.upperBound)
        if visible.isEmpty { return -.infinity }
        let start = row + visible.lowerBound, length = visible.count
        let vectorEnd = length & ~15
        var lanes = SIMD16<Float>(repeating: -.infinity)
        for c in stride(from: 0, to: vectorEnd, by: 16) {
            lanes = pointwiseMax(lanes, UnsafeRawPointer(start + c).loadUnaligned(as: SIMD16<Float>.self))
        }
        var largest = lanes.max()
        for c in vectorEnd..<length { largest = max(largest, start[c]) }
        // A row of −∞ scores (or a +∞ one) has no finite shift; let the arithmetic give NaN/0 as
        // the reference would, but never subtract −∞ from −∞.
        let shift = largest.isFinite ? largest : 0
        var sums = SIMD16<Float>()
        for c in stride(from: 0, to: vectorEnd, by: 16) {
            let e = fastExp(UnsafeRawPointer(start + c).loadUnaligned(as: SIMD16<Float>.self) - shift)
            UnsafeMutableRawPointer(start + c).storeBytes(of: e, as: SIMD16<Float>.self)
            sums += e
        }
        var sum = sums.sum()
        for c in vectorEnd..<length {
            let e = fastExp(start[c] - shift)
            start[c] = e
            sum += e
        }
        let inverse = 1 / sum
        for c in 0..<length { start[c] *= inverse }
        return shift + log(sum)
    }
}
