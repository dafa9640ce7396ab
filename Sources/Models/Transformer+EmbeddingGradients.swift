import TensorCore

extension Transformer {
    /// Token and position embedding gradients from dL/dstream[0], which layer 0's backward has
    /// just written, each worker its own stretch of rows (`WorkSplit.rows(balanced:)`).
    ///
    /// In blocks of rows fixed by the shape (`embeddingBlocks`): block b's rows are added in row
    /// order into its own partial token and position rows, on the worker whose stretch holds them
    /// (still in its cache), and each gradient row then gets the partials in block order. The
    /// same bits on any number of threads. Split by token owner instead, each worker read about
    /// three quarters of all rows, half of them from the other core's cache (BENCHMARKS.md).
    func embeddingGradients(rows n: Int) {
        let d = config.dModel, t = config.context, v = config.vocabulary
        let blocks = Self.embeddingBlocks(rows: n, tableRows: v + t)
        if blocks == 1 { return ownedEmbeddingGradients(rows: n) }
        let blockRows = (n + blocks - 1) / blocks, size = (v + t) * d
        // With more workers than blocks, each block's columns are cut too (columns never meet).
        let parts = max(1, (split.threads + blocks - 1) / blocks)
        // Each piece writes its own columns of its own block's partial; each worker its own gradient rows.
        nonisolated(unsafe) let partials = split.partials.reserve(blocks * size), dx = arena.dStream
        nonisolated(unsafe) let dToken = parameters.gradient("embed.token"), dPosition = parameters.gradient("embed.position")
        lastTokens.withUnsafeBufferPointer { ids in
            nonisolated(unsafe) let ids = ids.baseAddress!
            split.rows(blocks * parts, balanced: true) { range, _ in
                for piece in range {
                    let block = piece / parts, part = piece % parts
                    let c0 = WorkSplit.cut(d, piece: part, of: parts, aligned: 16)
                    let c1 = WorkSplit.cut(d, piece: part + 1, of: parts, aligned: 16)
                    guard c0 < c1 else { continue }
                    let partial = partials + block * size
                    for row in 0..<(v + t) { (partial + row * d + c0).update(repeating: 0, count: c1 - c0) }
                    let r0 = block * blockRows, r1 = min(n, r0 + blockRows)
                    var position = r0 % t
                    for r in r0..<r1 {
                        Self.addRow(dx + r * d + c0, into: partial + Int(ids[r]) * d + c0,
                                    and: partial + (v + position) * d + c0, count: c1 - c0)
                        position = position + 1 == t ? 0 : position + 1
                    }
                }
            }
        }
        split.rows(v + t) { rows, _ in
            for row in rows {
                let target = row < v ? dToken + row * d : dPosition + (row - v) * d
                WorkSplit.addPartials(partials + row * d, count: d, blocks: blocks, stride: size, into: target, adding: true)
            }
        }
    }

    /// Blocks of rows for `embeddingGradients`: `WorkSplit.depthBlock` rows each, at most
    /// `WorkSplit.maximumBlocks`, fixed by the shape; 1 (no partials: `ownedEmbeddingGradients`)
    /// under two blocks' rows, or where zeroing and summing the partials (`blocks` copies of the
    /// `tableRows` token and position rows) would be more than a quarter of the rows' work (a
    /// large vocabulary).
    static func embeddingBlocks(rows n: Int, tableRows: Int) -> Int {
        guard n >= 2 * WorkSplit.depthBlock else { return 1 }
        let blocks = min(WorkSplit.maximumBlocks, (n + WorkSplit.depthBlock - 1) / WorkSplit.depthBlock)
        return blocks * tableRows * 4 <= n ? blocks : 1
    }

    /// `embeddingGradients` without partials: worker w of T owns the token rows with id % T == w
    /// and the position rows with position % T == w, and adds the whole rows of dL/dstream[0]
    /// that fall to it, in row order, so every gradient element is the same chain of additions
    /// as on one thread and no two workers write one row.
    private func ownedEmbeddingGradients(rows n: Int) {
        let d = config.dModel, t = config.context
        nonisolated(unsafe) let dx = arena.dStream, dToken = parameters.gradient("embed.token"), dPosition = parameters.gradient("embed.position")
        lastTokens.withUnsafeBufferPointer { ids in
            nonisolated(unsafe) let ids = ids.baseAddress!
            let owners = split.threads
            split.rows(owners) { range, _ in
                for w in range {
                    for r in 0..<n {
                        let token = Int(ids[r]), position = r % t
                        let ownsToken = token % owners == w, ownsPosition = position % owners == w
                        if ownsToken && ownsPosition {
                            Self.addRow(dx + r * d, into: dToken + token * d, and: dPosition + position * d, count: d)
                        } else if ownsToken {
                            Self.addRow(dx + r * d, into: dToken + token * d, count: d)
                        } else if ownsPosition {
                            Self.addRow(dx + r * d, into: dPosition + position * d, count: d)
                        }
                    }
                }
            }
        }
    }

    /// `first[j] += row[j]` (and `second[j] += row[j]`) for j < count, 16 floats at a time: the
    /// pointers may alias as far as the compiler knows, so a scalar loop stayed scalar. Each
    /// element is one addition either way, so the bits are those of the scalar loop.
    @inline(__always)
    private static func addRow(_ row: UnsafePointer<Float>, into first: UnsafeMutablePointer<Float>,
                               and second: UnsafeMutablePointer<Float>? = nil, count: Int) {
        var j = 0
        while j + 16 <= count {
            let x = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD16<Float>.self)
            let a = UnsafeRawPointer(first + j).loadUnaligned(as: SIMD16<Float>.self) + x
            UnsafeMutableRawPointer(first + j).storeBytes(of: a, as: SIMD16<Float>.self)
            if let second {
                let b = UnsafeRawPointer(second + j).loadUnaligned(as: SIMD16<Float>.self) + x
                UnsafeMutableRawPointer(second + j).storeBytes(of: b, as: SIMD16<Float>.self)
            }
            j += 16
        }
        while j < count {
            first[j] += row[j]
            second?[j] += row[j]
            j += 1
        }
    }
}
