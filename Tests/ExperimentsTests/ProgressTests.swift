import Experiments
import Testing

/// The time left that progress displays print.
@Suite struct ProgressTests {
    @Test func etaUsesFinishedRunsElseTheRunningRunsSteps() {
        var p = ExperimentRunner.Progress()
        p.toRun = 2
        p.running = 2
        p.elapsed = .seconds(10)
        #expect(p.etaSeconds == nil, "nothing finished and no steps reported")
        p.steps = 1000
        p.totalSteps = 6000
        #expect(p.etaSeconds == 50, "10 s for 1,000 of 6,000 steps")
        p.toRun = 3                                    // a queued run: its steps are unknown
        #expect(p.etaSeconds == nil)
        p.executed = 1
        #expect(p.etaSeconds == 20, "10 s per finished run, two left")
        p.executed = 3
        #expect(p.etaSeconds == 0)
    }
}
