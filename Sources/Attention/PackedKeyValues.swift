import TensorCore

/// The keys and values of one forward call, repacked once into the layouts `MicroKernel` reads.
///
/// Keys go into panels of 16 keys, each stored transposed as `[d, 16]`, so one step of the score
/// product loads 16 keys' coordinate with two vector loads; values go into one contiguous
/// `[m, d]` block per head with d padded to a multiple of 16. Padding keys and coordinates are
/// zero. Packing once per call replaces the packing OpenBLAS did inside every sgemm of every
/// tile (3 % of the forward pass at d = 64) and costs O(m·Hkv·d) memory, like the inputs.
/// `@unchecked Sendable`: packing threads write disjoint panels; afterwards it is only read.
struct PackedKeyValues: @unchecked Sendable {
    /// Keys per head, rounded up to whole panels.
    let paddedKeys: Int
    /// d rounded up to a multiple of 16.
    let paddedDimension: Int
    let headDimension: Int
    let keyHeads: Int
    let keyCount: Int
    let sourceKeys: UnsafePointer<Float>     // [m, Hkv, d], the caller's
    let sourceValues: UnsafePointer<Float>   // [m, Hkv, d], the caller's
    let keys: UnsafeMutablePointer<Float>    // [Hkv, paddedKeys / 16, d, 16]
    let values: UnsafeMutablePointer<Float>  // [Hkv, paddedKeys, paddedDimension]
    let packValues: Bool

    /// Packs `k` and `v` (`[m, Hkv, d]` each), splitting the copy over `threads`. Without
    /// `packValues` only the key panels are made (the backward pass packs V as panels too).
    init(shape: AttentionShape, k: UnsafePointer<Float>, v: UnsafePointer<Float>, threads: Int,
         packValues: Bool = true) {
        let width = MicroKernel.columns
        let m = shape.keys, d = shape.headDimension, heads = shape.keyHeads
        let paddedKeys = (m + width - 1) / width * width
        let paddedDimension = (d + width - 1) / width * width
        self.paddedKeys = paddedKeys
        self.paddedDimension = paddedDimension
        headDimension = d
        keyHeads = heads
        keyCount = m
        sourceKeys = k
        sourceValues = v
        keys = .allocate(capacity: heads * paddedKeys * d)
        values = .allocate(capacity: packValues ? heads * paddedKeys * paddedDimension : 1)
        self.packValues = packValues
        let packed = self
        let panels = paddedKeys / width
        let chunk = 64  // panels per work item: enough to hide the hand-out, few enough to balance
        let chunks = (panels + chunk - 1) / chunk
        Parallel.forEach(heads * chunks, threads: threads, setup: { _ in () }, body: { item, _ in
            let head = item / chunks
            let first = item % chunks * chunk
            packed.pack(head: head, panels: first..<min(first + chunk, panels))
        })
    }

    /// Packs the given panels (16 keys each) of one key/value head.
    private func pack(head: Int, panels: Range<Int>) {
        let width = MicroKernel.columns, d = headDimension, ldk = keyHeads * d, m = keyCount
        let k = sourceKeys, v = sourceValues
        for panel in panels {
            let keyPanel = keyPanel(head: head, firstKey: panel * width)
            for lane in 0..<width {
                let j = panel * width + lane
                if j < m {
                    let key = k + j * ldk + head * d
                    for c in 0..<d { keyPanel[c * width + lane] = key[c] }
                } else {
                    for c in 0..<d { keyPanel[c * width + lane] = 0 }
                }
                guard packValues else { continue }
                let valueRow = valueRow(head: head, key: j)
                if j < m {
                    valueRow.update(from: v + j * ldk + head * d, count: d)
                    (valueRow + d).update(repeating: 0, count: paddedDimension - d)
                } else {
                    valueRow.update(repeating: 0, count: paddedDimension)
                }
            }
        }
    }

    /// The panel holding keys `firstKey ..< firstKey + 16` of `head`; `firstKey` is a multiple of 16.
    func keyPanel(head: Int, firstKey: Int) -> UnsafeMutablePointer<Float> {
        keys + (head * paddedKeys + firstKey) * headDimension
    }

    /// The padded value row of `key` in `head`.
    func valueRow(head: Int, key: Int) -> UnsafeMutablePointer<Float> {
        values + (head * paddedKeys + key) * paddedDimension
    }

    func deallocate() {
        keys.deallocate()
        values.deallocate()
    }
}
