import Attention
import Testing

/// `AttentionMask.visibleKeys` (the range the kernel iterates) agrees with `isVisible` (the
/// definition) for every query, including offsets that put whole rows out of reach.
@Suite("Attention masks")
struct AttentionMaskTests {
    static let masks: [AttentionMask] = {
        var masks: [AttentionMask] = []
        for isCausal in [false, true] {
            for window in [nil, 1, 2, 5] as [Int?] {
                for (queryOffset, keyOffset) in [(0, 0), (3, 0), (0, 3), (-4, 2), (12, 1), (0, 20)] {
                    masks.append(AttentionMask(isCausal: isCausal, window: window,
                                               queryOffset: queryOffset, keyOffset: keyOffset))
                }
            }
        }
        return masks
    }()

    @Test("visibleKeys is exactly the keys isVisible accepts", arguments: masks)
    func visibleKeysMatchesDefinition(_ mask: AttentionMask) {
        let n = 11, m = 9
        for i in 0..<n {
            let expected = (0..<m).filter { mask.isVisible(query: i, key: $0) }
            let range = mask.visibleKeys(query: i, keyCount: m)
            #expect(Array(range) == expected, "query \(i): range \(range), isVisible gives \(expected)")
        }
    }
}
