import Testing
@testable import LoomCLI

/// A ratio taken turn by turn: its median, spread and JSON.
@Suite struct TurnRatiosTests {
    @Test func summarisesTheTurns() {
        let odd = TurnRatios([0.9, 0.7, 0.8])
        #expect(odd.median == 0.8 && odd.lowest == 0.7 && odd.highest == 0.9 && odd.count == 3)
        #expect(odd.rangeText == "[0.70–0.90]")
        let even = TurnRatios([1.0, 2.0, 4.0, 3.0])
        #expect(even.median == 2.5)
        let none = TurnRatios([])
        #expect(none.median.isNaN && none.count == 0 && none.rangeText.isEmpty)
        if case .null = none.json {} else { Issue.record("no turns should be JSON null") }
    }

    @Test func pairsSamplesTakenInTheSameTurn() {
        // Kernel samples of 2 s and 4 s against baseline samples of 1 s and 1 s doing half the
        // work each: turn by turn the kernel's rate over the baseline's is 2·1/2 = 1 and 2·1/4 = 0.5.
        var kernel = Samples(), baseline = Samples()
        kernel.append(.seconds(2)); kernel.append(.seconds(4))
        baseline.append(.seconds(1)); baseline.append(.seconds(1)); baseline.append(.seconds(9))  // unpaired extra
        let turns = kernel.turnRatios(over: baseline, scale: 2)
        #expect(turns.sorted == [0.5, 1.0])
        #expect(turns.dictionary["turns"] as? Int == 2)
        // In turn order, so that the turns Loom ran first (even) and last (odd) can be told apart.
        #expect(turns.dictionary["values"] as? [Double] == [1.0, 0.5])
    }
}
