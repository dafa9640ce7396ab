import TensorCore

/// The backward pass's passes over memory around its kernel (D = rowsum(dO ∘ out), Q and dO
/// transposed per head, the workers' dq summed back into `[n, H, d]`), split over the threads.
/// Each was a single-threaded loop: about 5 % of the pass's wall time on two cores at n = 8192,
/// d = 128 (perf). Every element is computed in the same order as before, so the bits are the same.
///
/// `@unchecked Sendable`: each work item writes only its own rows or its own head.
struct BackwardPasses: @unchecked Sendable {
    let threads: Int

    /// `rowDot[r] = Σ_c dO[r, c]·out[r, c]` over the `rows` rows of `d` coordinates.
    func rowDots(_ dO: UnsafePointer<Float>, _ out: UnsafePointer<Float>, into rowDot: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
        let chunk = 1024, chunks = (rows + chunk - 1) / chunk
        let pointers = Pointers(a: dO, b: out, target: rowDot)
        Parallel.forEach(chunks, threads: threads, setup: { _ in () }, body: { item, _ in
            for row in (item * chunk)..<min(rows, (item + 1) * chunk) {
                var sum: Float = 0
                for c in 0..<d { sum += pointers.a[row * d + c] * pointers.b[row * d + c] }
                pointers.target[row] = sum
            }
        })
    }

    /// Per head, `dq[i, h, 0..<d] = Σ_t slices[t][h, i, 0..<d]` (summed in worker order), from
    /// `[T, H, n, padded]` worker slices into `[n, H, d]`.
    func sumWorkers(_ slices: UnsafePointer<Float>, workers: Int, into dq: UnsafeMutablePointer<Float>, rows n: Int, heads: Int, d: Int, padded: Int) {
        let slice = heads * n * padded
        let pointers = Pointers(a: slices, b: slices, target: dq)
        Parallel.forEach(heads, threads: threads, setup: { _ in () }, body: { h, _ in
            for i in 0..<n {
                let source = pointers.a + (h * n + i) * padded, target = pointers.target + (i * heads + h) * d
                target.update(from: source, count: d)
                for t in 1..<max(1, workers) {
                    let part = source + t * slice
                    for c in 0..<d { target[c] += part[c] }
                }
            }
        })
    }

    struct Pointers: @unchecked Sendable {
        let a: UnsafePointer<Float>, b: UnsafePointer<Float>
        let target: UnsafeMutablePointer<Float>
    }
}
