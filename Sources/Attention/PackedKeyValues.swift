import TensorCore

/// Keys and values of one call, repacked once into the two layouts `MicroKernel` reads.
///
/// - **Panels** (`[Hkv, paddedKeys / 16, d, 16]`): 16 rows at a time, stored transposed as
///   `[d, 16]`, so one step of a product against the rows loads 16 rows' coordinate with two vector
///   loads. The right operand of S = Q·Kᵀ and, in the backward pass, of dP = dO·Vᵀ.
/// - **Column panels** (`[Hkv, paddedDimension / 16, paddedKeys, 16]`): coordinates 16 at a time,
///   each 16-coordinate panel holding every row of the head one after the other, d padded to a
///   multiple of 16. The right operand of O += P·V and, in the backward pass, dq += dS·K: a product
///   over a run of keys reads each panel as one contiguous stream, where rows of the padded
///   dimension (256–512 B apart) made a stride per step (AVX2 tile: the forward 1–6 % and the
///   backward 3–5 % faster at n = 4096 on one thread; level on AVX-512; BENCHMARKS.md).
///
/// Each initialiser says which tensor goes into which layout: the forward pass packs K as panels
/// and V as column panels; the backward pass packs K both ways and V as panels only. Padding rows
/// and coordinates are zero. Packing once per call replaces the packing OpenBLAS did inside every
/// sgemm of every tile (3 % of the forward pass at d = 64) and costs O(m·Hkv·d) memory, like the inputs.
/// `@unchecked Sendable`: packing threads write disjoint panels; afterwards it is only read.
struct PackedKeyValues: @unchecked Sendable {
    /// Rows per head, rounded up to whole panels.
    let paddedKeys: Int
    /// d rounded up to a multiple of 16.
    let paddedDimension: Int
    let headDimension: Int
    let keyHeads: Int
    let keyCount: Int
    let panelSource: UnsafePointer<Float>       // [m, Hkv, d], the caller's; packed as panels
    let rowSource: UnsafePointer<Float>         // [m, Hkv, d], the caller's; packed as column panels
    let panels: UnsafeMutablePointer<Float>     // [Hkv, paddedKeys / 16, d, 16]
    let columnPanels: UnsafeMutablePointer<Float> // column panels [Hkv, paddedDimension / 16, paddedKeys, 16]; 1 float without them
    let hasColumnPanels: Bool

    /// The forward pass's packing: `k` as panels (for S = Q·Kᵀ), `v` as column panels (for O += P·V).
    /// - Precondition: `k` and `v` are `[m, Hkv, d]` as `shape` says.
    init(keyPanels k: UnsafePointer<Float>, valueColumns v: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: k, columnPanelsOf: v, hasColumnPanels: true, threads: threads)
    }

    /// The backward pass's keys: `k` as panels (for S = Q·Kᵀ) and as column panels (for dq += dS·K).
    /// - Precondition: `k` is `[m, Hkv, d]` as `shape` says.
    init(keyPanelsAndColumns k: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: k, columnPanelsOf: k, hasColumnPanels: true, threads: threads)
    }

    /// The backward pass's values: `v` as panels only (for dP = dO·Vᵀ).
    /// - Precondition: `v` is `[m, Hkv, d]` as `shape` says.
    init(valuePanels v: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: v, columnPanelsOf: v, hasColumnPanels: false, threads: threads)
    }

    /// Packs `panelSource` as panels and, with `hasColumnPanels`, `rowSource` as column panels,
    /// splitting the copy over `threads`.
    private init(shape: AttentionShape, panelsOf panelSource: UnsafePointer<Float>,
                 columnPanelsOf rowSource: UnsafePointer<Float>, hasColumnPanels: Bool, threads: Int) {
        let width = MicroKernel.columns
        let m = shape.keys, d = shape.headDimension, heads = shape.keyHeads
        let paddedKeys = (m + width - 1) / width * width
        let paddedDimension = (d + width - 1) / width * width
        self.paddedKeys = paddedKeys
        self.paddedDimension = paddedDimension
        headDimension = d
        keyHeads = heads
        keyCount = m
        self.panelSource = panelSource
        self.rowSource = rowSource
        panels = .allocate(capacity: heads * paddedKeys * d)
        columnPanels = .allocate(capacity: hasColumnPanels ? heads * paddedKeys * paddedDimension : 1)
        self.hasColumnPanels = hasColumnPanels
        let packed = self
        let panelCount = paddedKeys / width
        let chunk = 64  // panels per work item: enough to hide the hand-out, few enough to balance
        let chunks = (panelCount + chunk - 1) / chunk
        Parallel.forEach(heads * chunks, threads: threads, setup: { _ in () }, body: { item, _ in
            let head = item / chunks
            let first = item % chunks * chunk
            packed.pack(head: head, panels: first..<min(first + chunk, panelCount))
        })
    }

    /// Packs the given panels (16 rows each) of one key/value head, and the same rows in the column panels.
    private func pack(head: Int, panels panelRange: Range<Int>) {
        let width = MicroKernel.columns, d = headDimension, ldk = keyHeads * d, m = keyCount
        let source = panelSource, rowSource = rowSource
        for panelIndex in panelRange {
            let panel = panel(head: head, firstKey: panelIndex * width)
            for lane in 0..<width {
                let j = panelIndex * width + lane
                if j < m {
                    let row = source + j * ldk + head * d
                    for c in 0..<d { panel[c * width + lane] = row[c] }
                } else {
                    for c in 0..<d { panel[c * width + lane] = 0 }
                }
                guard hasColumnPanels else { continue }
                // Row j's coordinates q·16 ..< q·16 + 16 go to panel q; zeros past d and past m.
                for q in 0..<(paddedDimension / width) {
                    let target = columnPanels + ((head * paddedDimension + q * width) * paddedKeys + j * width)
                    let copied = j < m ? min(width, d - q * width) : 0
                    if copied > 0 { target.update(from: rowSource + j * ldk + head * d + q * width, count: copied) }
                    (target + copied).update(repeating: 0, count: width - copied)
                }
            }
        }
    }

    /// The panel holding rows `firstKey ..< firstKey + 16` of `head`; `firstKey` is a multiple of 16.
    func panel(head: Int, firstKey: Int) -> UnsafeMutablePointer<Float> {
        panels + (head * paddedKeys + firstKey) * headDimension
    }

    /// The right operand of a product over rows `key...` of `head` in the column panels: its
    /// start, the floats from one row to the next (16) and from one panel to the next.
    /// - Precondition: packed with them (not `init(valuePanels:shape:threads:)`).
    func rows(head: Int, key: Int) -> (start: UnsafePointer<Float>, ldb: Int, panelStride: Int) {
        let width = MicroKernel.columns
        return (UnsafePointer(columnPanels + head * paddedDimension * paddedKeys + key * width), width, paddedKeys * width)
    }

    func deallocate() {
        panels.deallocate()
        columnPanels.deallocate()
    }
}
