import Mechanisms
import Testing

/// The measurements on hand-made captures, against values worked out by hand.
@Suite struct HeadMetricsTests {
    /// One sequence of 4 positions, 2 heads; position 2's input is a trigger.
    static let shape = HeadMetrics.Shape(batch: 1, heads: 2, length: 4)
    static let isTrigger = [false, false, true, false]

    /// Causal rows for head 0 (sinks on BOS) and head 1 (attends to the previous token).
    static let weights: [Float] = [
        1, 0, 0, 0,   0.9, 0.1, 0, 0,   0.2, 0.7, 0.1, 0,   0.8, 0.1, 0.05, 0.05,
        1, 0, 0, 0,   0.5, 0.5, 0, 0,   0.1, 0.8, 0.1, 0,   0.3, 0.3, 0.3, 0.1,
    ]

    @Test func sinkAndPreviousTokenAttention() {
        let sink = HeadMetrics.attentionSink(weights: Self.weights, shape: Self.shape, isTrigger: Self.isTrigger)
        // Non-trigger queries 1 and 3: head 0 (0.9 + 0.8)/2, head 1 (0.5 + 0.3)/2.
        #expect(abs(sink[0] - 0.85) < 1e-7 && abs(sink[1] - 0.4) < 1e-7)
        let previous = HeadMetrics.attentionPrevious(weights: Self.weights, shape: Self.shape, isTrigger: Self.isTrigger)
        // The trigger query 2 on key 1: 0.7 and 0.8.
        #expect(abs(previous[0] - 0.7) < 1e-7 && abs(previous[1] - 0.8) < 1e-7)
    }

    @Test func sinkLogitMarginAgainstTheOtherVisibleKeys() {
        let minus = -Float.infinity
        let scores: [Float] = [
            0, minus, minus, minus,   5, 1, minus, minus,   9, 9, 9, minus,   6, 1, 2, 3,
            0, minus, minus, minus,   1, 1, minus, minus,   0, 0, 0, minus,   0, 1, 1, 1,
        ]
        let margin = HeadMetrics.sinkLogitMargin(scores: scores, shape: Self.shape, isTrigger: Self.isTrigger)
        // Query 1: 5 − 1 = 4; query 3: 6 − (1+2+3)/3 = 4. Head 1: (0 + (−1))/2.
        #expect(margin[0] == 4 && margin[1] == -0.5)
    }

    @Test func valueDrainAndResidualNormsSplitBOSFromTheRest() {
        let width = 2
        // [B=1, H=2, T=4, d=2]: head 0's BOS output is (3, 4), the rest (0, 1).
        var outputs = [Float](repeating: 0, count: 2 * 4 * width)
        outputs[0] = 3; outputs[1] = 4
        for i in 1..<4 { outputs[i * width + 1] = 1 }
        for i in 0..<4 { outputs[(4 + i) * width] = 2 }
        let drain = HeadMetrics.valueDrain(valueOutputs: outputs, shape: Self.shape, width: width)
        #expect(drain[0].bos == 5 && drain[0].others == 1 && drain[1].bos == 2 && drain[1].others == 2)
        let residual: [Float] = [6, 8, 1, 0, 0, 1, 3, 4]
        let norms = HeadMetrics.residualNorm(residual: residual, batch: 1, length: 4, width: width)
        #expect(norms.bos == 10 && abs(norms.others - 7.0 / 3) < 1e-12)
    }
}
