import Foundation
import NumericTestSupport
import TensorCore
import Testing
@testable import Models

/// `WorkSplit.gemm`'s `rowsDone`: every row of C is handed over exactly once, each piece of
/// `rows(m, aligned: reductionBlock)` by one worker, in order, and only once its values are final; on
/// Loom's tiles with rows split (inside the product, group by group) and on every other path
/// (after the product).
@Suite struct WorkSplitRowsDoneTests {
    /// What the hook saw: per row, the worker and the row's values at that moment.
    final class Record: @unchecked Sendable {
        let lock = NSLock()
        var workers: [Int: Int] = [:], values: [Int: [Float]] = [:], orders: [Int: [Int]] = [:]
        var repeats = 0
    }

    /// Weights packed ahead for the blocked phases are the same floats whether their panels are
    /// shared out among the workers (large packings) or packed by one thread.
    @Test(arguments: [BLAS.Transpose.none, .transposed])
    func weightsPackedAheadOnTwoWorkersAreThoseOfOne(transB: BLAS.Transpose) {
        let (k, n) = (200, 170)    // past `parallelPackFrom`; 11 panels, the last partial
        #expect(k * n >= RowBlockProduct.parallelPackFrom)
        var random = TestRandom(seed: 5)
        let ldb = (transB == .none ? n : k) + 1
        var b = (0..<((transB == .none ? k : n) * ldb)).map { _ in Float(random.nextNormal()) }
        var packings: [[Float]] = []
        for threads in [1, 2] {
            let split = WorkSplit(threads: threads)
            b.withUnsafeMutableBufferPointer { b in
                let product = RowBlockProduct.packed([(k, n, b.baseAddress!, ldb)], split: split, blocks: true, transB: transB)[0]
                packings.append(Array(UnsafeBufferPointer(start: product.packed!, count: TiledGEMM.packedCount(k: k, n: n))))
            }
        }
        #expect(packings[0].map(\.bitPattern) == packings[1].map(\.bitPattern))
    }

    @Test(arguments: [(m: 500, n: 40, k: 300, threads: 2, blas: false), (m: 37, n: 37, k: 5, threads: 1, blas: false),
                      (m: 24, n: 90, k: 17, threads: 2, blas: false), (m: 300, n: 20, k: 64, threads: 2, blas: true)])
    func everyRowOnceInOrderWithItsFinalValues(_ shape: (m: Int, n: Int, k: Int, threads: Int, blas: Bool)) {
        let (m, n, k) = (shape.m, shape.n, shape.k)
        var random = TestRandom(seed: UInt64(m * 31 + n))
        let a = (0..<(m * k)).map { _ in Float(random.nextNormal()) }
        let b = (0..<(k * n)).map { _ in Float(random.nextNormal()) }
        var c = [Float](repeating: .nan, count: m * n)
        var split = WorkSplit(threads: shape.threads)
        split.usesOpenBLASProducts = shape.blas
        let record = Record()
        c.withUnsafeMutableBufferPointer { cBuffer in
            nonisolated(unsafe) let c = cBuffer.baseAddress!
            split.gemm(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: c, ldc: n, rowsDone: { rows, worker in
                record.lock.lock(); defer { record.lock.unlock() }
                for r in rows {
                    if record.workers[r] != nil { record.repeats += 1 }
                    record.workers[r] = worker
                    record.values[r] = Array(UnsafeBufferPointer(start: c + r * n, count: n))
                    record.orders[worker, default: []].append(r)
                }
            })
        }
        #expect(record.repeats == 0, "a row was handed over twice")
        #expect(record.workers.count == m, "\(record.workers.count) of \(m) rows handed over")
        #expect(record.workers.values.allSatisfy { (0..<shape.threads).contains($0) }, "a worker outside 0..<\(shape.threads)")
        let pieces = max(1, min(shape.threads, m))
        for piece in 0..<pieces {
            // Pieces on whole blocks of a row sum (`WorkSplit.reductionBlock`), each on one worker.
            let block = WorkSplit.reductionBlock
            let rows = WorkSplit.cut(m, piece: piece, of: pieces, aligned: block) ..< WorkSplit.cut(m, piece: piece + 1, of: pieces, aligned: block)
            #expect(Set(rows.map { record.workers[$0] }).count <= 1, "piece \(piece) was split between workers")
        }
        // A worker sees its rows in order (pieces are handed out in order).
        for (worker, order) in record.orders {
            #expect(order == order.sorted() && Set(order).count == order.count, "worker \(worker) saw its rows out of order")
        }
        let final = (0..<m).allSatisfy { r in record.values[r]?.map(\.bitPattern) == Array(c[(r * n)..<((r + 1) * n)]).map(\.bitPattern) }
        #expect(final, "a row was handed over before its values were final")
        // And the product is right: ‖C − C₆₄‖/‖C₆₄‖ ≤ 1e-5 (float32 sums of ≤ 300 terms).
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k { expected[i * n + j] += Double(a[i * k + p]) * Double(b[p * n + j]) } } }
        let difference = zip(c, expected).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
        let norm = expected.map { $0 * $0 }.reduce(0, +).squareRoot()
        #expect(difference / norm <= 1e-5)
    }
}
