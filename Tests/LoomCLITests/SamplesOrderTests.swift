import Testing
@testable import LoomCLI

/// The order in which `Samples.measureInTurn` runs the pieces of each turn.
@Suite struct SamplesOrderTests {
    @Test func oddTurnsRunThePiecesInReverse() {
        var order: [String] = [], checksum = 0.0
        let (a, b, c, d) = Samples.measureInTurn(count: 3, checksum: &checksum, { order.append("1"); return 1 },
                                                 afterFirst: { order.append("1'"); return 0 },
                                                 { order.append("2"); return 2 },
                                                 afterSecond: { order.append("2'") },
                                                 third: { order.append("3"); return .milliseconds(3) },
                                                 fourth: { order.append("4"); return .milliseconds(4) })
        let even = ["1", "1'", "2", "2'", "3", "4"], odd = ["4", "3", "2", "2'", "1", "1'"]
        // The warm-up, then turns 0, 1 and 2: each piece's untimed follow-up stays right after it.
        #expect(order == even + even + odd + even, "\(order)")
        #expect(a.durations.count == 3 && b.durations.count == 3)
        #expect(c?.durations == [.milliseconds(3), .milliseconds(3), .milliseconds(3)])
        #expect(d?.durations == [.milliseconds(4), .milliseconds(4), .milliseconds(4)])
        // Warm-up and three turns of 1 and 2 (the follow-ups add 0).
        #expect(checksum == 12)
    }

    @Test func aThirdPieceThatStopsIsDroppedInEitherOrder() {
        var calls = 0, checksum = 0.0
        // The third piece answers the warm-up and turn 0, then stops in turn 1 (run before the others).
        let (_, _, c, _) = Samples.measureInTurn(count: 4, checksum: &checksum, { 1 }, { 2 }, third: {
            calls += 1
            return calls <= 2 ? .milliseconds(1) : nil
        })
        #expect(c == nil)
        #expect(calls == 3, "never asked again once it stopped")
    }
}
