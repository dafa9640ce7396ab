import TensorCore

/// Keys and values of one call, repacked once into the two layouts `MicroKernel` reads.
///
/// - **Panels** (`[Hkv, paddedKeys / 16, d, 16]`): 16 rows at a time, stored transposed as
///   `[d, 16]`, so one step of a product against the rows loads 16 rows' coordinate with two vector
///   loads. The right operand of S = Q·Kᵀ and, in the backward pass, of dP = dO·Vᵀ.
/// - **Padded rows** (`[Hkv, paddedKeys, paddedDimension]`): one contiguous block per head with d
///   padded to a multiple of 16. The right operand of O += P·V and, in the backward pass, dq += dS·K.
///
/// Each initialiser says which tensor goes into which layout: the forward pass packs K as panels
/// and V as padded rows; the backward pass packs K both ways and V as panels only. Padding rows
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
    let rowSource: UnsafePointer<Float>         // [m, Hkv, d], the caller's; packed as padded rows
    let panels: UnsafeMutablePointer<Float>     // [Hkv, paddedKeys / 16, d, 16]
    let paddedRows: UnsafeMutablePointer<Float> // [Hkv, paddedKeys, paddedDimension]; 1 float without rows
    let hasPaddedRows: Bool

    /// The forward pass's packing: `k` as panels (for S = Q·Kᵀ), `v` as padded rows (for O += P·V).
    /// - Precondition: `k` and `v` are `[m, Hkv, d]` as `shape` says.
    init(keyPanels k: UnsafePointer<Float>, valueRows v: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: k, paddedRowsOf: v, hasPaddedRows: true, threads: threads)
    }

    /// The backward pass's keys: `k` as panels (for S = Q·Kᵀ) and as padded rows (for dq += dS·K).
    /// - Precondition: `k` is `[m, Hkv, d]` as `shape` says.
    init(keyPanelsAndRows k: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: k, paddedRowsOf: k, hasPaddedRows: true, threads: threads)
    }

    /// The backward pass's values: `v` as panels only (for dP = dO·Vᵀ).
    /// - Precondition: `v` is `[m, Hkv, d]` as `shape` says.
    init(valuePanels v: UnsafePointer<Float>, shape: AttentionShape, threads: Int) {
        self.init(shape: shape, panelsOf: v, paddedRowsOf: v, hasPaddedRows: false, threads: threads)
    }

    /// Packs `panelSource` as panels and, with `hasPaddedRows`, `rowSource` as padded rows,
    /// splitting the copy over `threads`.
    private init(shape: AttentionShape, panelsOf panelSource: UnsafePointer<Float>,
                 paddedRowsOf rowSource: UnsafePointer<Float>, hasPaddedRows: Bool, threads: Int) {
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
        paddedRows = .allocate(capacity: hasPaddedRows ? heads * paddedKeys * paddedDimension : 1)
        self.hasPaddedRows = hasPaddedRows
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

    /// Packs the given panels (16 rows each) of one key/value head, and their padded rows.
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
                guard hasPaddedRows else { continue }
                let paddedRow = paddedRow(head: head, key: j)
                if j < m {
                    paddedRow.update(from: rowSource + j * ldk + head * d, count: d)
                    (paddedRow + d).update(repeating: 0, count: paddedDimension - d)
                } else {
                    paddedRow.update(repeating: 0, count: paddedDimension)
                }
            }
        }
    }

    /// The panel holding rows `firstKey ..< firstKey + 16` of `head`; `firstKey` is a multiple of 16.
    func panel(head: Int, firstKey: Int) -> UnsafeMutablePointer<Float> {
        panels + (head * paddedKeys + firstKey) * headDimension
    }

    /// The padded row `key` of `head`.
    /// - Precondition: packed with padded rows (not `init(valuePanels:shape:threads:)`).
    func paddedRow(head: Int, key: Int) -> UnsafeMutablePointer<Float> {
        paddedRows + (head * paddedKeys + key) * paddedDimension
    }

    func deallocate() {
        panels.deallocate()
        paddedRows.deallocate()
    }
}
