import Experiments
import Runner
import Testing

/// The time left that progress displays print.
@Suite struct ProgressTests {
    /// Work done counts finished runs and the running runs' fractions of their steps.
    @Test func etaCountsFinishedRunsAndTheRunningRunsSteps() {
        var p = ExperimentRunner.Progress()
        p.toRun = 2
        p.running = 2
        p.elapsed = .seconds(10)
        #expect(p.etaSeconds == nil, "nothing finished and no steps reported")
        p.steps = 1000
        p.totalSteps = 6000
        #expect(p.etaSeconds == 50, "10 s for 1,000 of 6,000 steps")
        p.toRun = 3                                    // a queued run, taken to cost what a running one does
        #expect(p.etaSeconds == 80, "1/3 of a run in 10 s, 8/3 left")
        p.executed = 1
        p.steps = 0
        #expect(p.etaSeconds == 20, "10 s per finished run, two left, no steps reported")
        // One run finished, the other nearly: not a whole run's time left (the old estimate said 10 s).
        p.toRun = 2
        p.running = 1
        p.steps = 3900
        p.totalSteps = 4000
        #expect(abs(p.etaSeconds! - 10 / 1.975 * 0.025) < 1e-9)
        p.executed = 2
        #expect(p.etaSeconds == 0)
    }
}
