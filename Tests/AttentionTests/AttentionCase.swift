import Attention
import NumericTestSupport
import Testing

/// The masks the kernel tests sweep; each becomes an `AttentionMask` once n and m are known.
enum MaskKind: String, CaseIterable, Sendable {
    case none
    case causal
    /// Causal with both offsets non-zero: query i sits at 5 + i, key j at 2 + j.
    case causalShifted
    /// flash-attention's bottom-right causal alignment (for n > m the first n − m rows see nothing).
    case causalAlignedToEnd
    /// A two-sided window of 9 (no causality).
    case window
    /// A causal sliding window of 17, aligned to the end.
    case causalWindow
    /// Causal with the queries 3 positions before the keys: rows 0–2 see no key.
    case emptyRowsCausal
    /// A two-sided window of 6 around keys shifted by 40: rows below 35 see no key.
    case emptyRowsWindow

    func mask(queries n: Int, keys m: Int) -> AttentionMask {
        switch self {
        case .none: .none
        case .causal: .causal()
        case .causalShifted: .causal(queryOffset: 5, keyOffset: 2)
        case .causalAlignedToEnd: .causalAlignedToEnd(queries: n, keys: m)
        case .window: AttentionMask(window: 9)
        case .causalWindow: AttentionMask(isCausal: true, window: 17, queryOffset: max(0, m - n))
        case .emptyRowsCausal: .causal(queryOffset: -3)
        case .emptyRowsWindow: AttentionMask(window: 6, keyOffset: 40)
        }
    }
}

/// One kernel configuration: extents, mask, score function, tiling and threads.
struct KernelCase: Sendable, CustomTestStringConvertible {
    var queries: Int, keys: Int, heads: Int, keyHeads: Int, headDimension: Int
    var mask: MaskKind
    var score: ScoreFunction
    /// nil for the defaults of `BlockwiseAttention.init`.
    var blocks: (query: Int, key: Int)?
    var threads: Int
    var seed: UInt64

    var attentionMask: AttentionMask { mask.mask(queries: queries, keys: keys) }

    var attention: BlockwiseAttention {
        if let blocks {
            BlockwiseAttention(mask: attentionMask, score: score, threads: threads,
                               queryBlock: blocks.query, keyBlock: blocks.key)
        } else {
            BlockwiseAttention(mask: attentionMask, score: score, threads: threads)
        }
    }

    func makeInputs() -> AttentionInputs {
        AttentionInputs(queries: queries, keys: keys, heads: heads, keyHeads: keyHeads,
                        headDimension: headDimension, seed: seed)
    }

    var testDescription: String {
        let tiles = blocks.map { "blocks \($0.query)×\($0.key)" } ?? "default blocks"
        return "n \(queries) m \(keys) H \(heads)/\(keyHeads) d \(headDimension), \(mask) "
            + "(\(attentionMask)), \(score), \(tiles), \(threads) thread\(threads == 1 ? "" : "s")"
    }

    /// Every mask × every score function, with extents, heads, d, tiles and threads rotating so
    /// that each value of each appears several times without a full product.
    static func maskAndScoreSweep(sizes: [(Int, Int)], dimensions: [Int],
                                  tiles: [(query: Int, key: Int)?]) -> [KernelCase] {
        let headPairs = [(4, 1), (6, 2), (2, 2)]
        var cases: [KernelCase] = []
        for (i, mask) in MaskKind.allCases.enumerated() {
            for (j, score) in ScoreFunction.allCases.enumerated() {
                let k = 3 * i + j
                let (n, m) = sizes[k % sizes.count]
                let (h, hkv) = headPairs[(i + j) % headPairs.count]
                cases.append(KernelCase(queries: n, keys: m, heads: h, keyHeads: hkv,
                                        headDimension: dimensions[(i + 2 * j) % dimensions.count],
                                        mask: mask, score: score, blocks: tiles[(2 * i + j) % tiles.count],
                                        threads: 1 + (i + j) % 2, seed: UInt64(100 + k)))
            }
        }
        return cases
    }

    /// Every (n, m) pair, softmax, with the masks that depend on n and m rotating.
    static func raggedSweep(queries: [Int], keys: [Int], dimensions: [Int],
                            tiles: [(query: Int, key: Int)?]) -> [KernelCase] {
        let headPairs = [(2, 2), (4, 1), (6, 2)]
        let masks: [MaskKind] = [.causalAlignedToEnd, .none, .causal, .causalWindow]
        var cases: [KernelCase] = []
        for (i, n) in queries.enumerated() {
            for (j, m) in keys.enumerated() {
                let k = keys.count * i + j
                let (h, hkv) = headPairs[k % headPairs.count]
                cases.append(KernelCase(queries: n, keys: m, heads: h, keyHeads: hkv,
                                        headDimension: dimensions[(i + j) % dimensions.count],
                                        mask: masks[(i + 3 * j) % masks.count], score: .softmax,
                                        blocks: tiles[k % tiles.count], threads: 1 + k % 2,
                                        seed: UInt64(200 + k)))
            }
        }
        return cases
    }
}
