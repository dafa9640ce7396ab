import Foundation
import ProcessTestSupport
import Testing
@testable import Experiments
import Runner
import Tasks

/// After `loom run` died: what the LOST note says will run again, and what will not.
@Suite struct InterruptedRunsTests {
    @Test func theLostNoteSaysWhatRunsAgainWhatIsCachedAndWhatIsNotInTheSweep() throws {
        let directory = try TemporaryDirectory()
        let store = try ResultsStore(path: directory.path("loom.db"))
        // Runs 1–3 (repetitions 0–2) succeeded earlier; runs 4 and 5 are new.
        let stored = try CacheIdentityTests.storeSucceeded(store, code: CacheIdentityTests.codeA)
        let runs = stored + (3..<5).map { ExperimentRun(index: $0, repetition: $0, params: ["seconds": .double(0)]) }
        // An invocation died with runs 2, 4 and 5 unfinished, and one of a sweep this one does not hold.
        let experimentID = try store.experiment(named: "x", description: "", file: "x.yaml")
        let invocation = try store.startInvocation(experiment: experimentID, provenance: CacheIdentityTests.provenance(CacheIdentityTests.codeA))
        let unfinished = [runs[1], runs[3], runs[4], ExperimentRun(index: 0, repetition: 0, params: ["seconds": .double(9)])]
        let keys = unfinished.map { RunPlan.cacheKey(task: "sleep", kindVersion: 1, params: $0.params, repetition: $0.repetition) }
        let ids = try store.addRuns(unfinished, task: "sleep", cacheKeys: keys, experiment: experimentID, invocation: invocation)
        try store.setStatus(ids[0], .running, attempt: 1)
        let lost = try store.markInterruptedRunsLost(experiment: experimentID)
        #expect(lost.sorted() == keys.sorted())
        let plan = try RunPlan(try CacheIdentityTests.experiment, runs: runs, kindVersion: 1, code: CacheIdentityTests.codeA,
                               store: store, force: false, rerunFailed: false)
        #expect(ExperimentRunner.lostNote(lost, plan: plan)
                == "4 unfinished run(s) of an interrupted earlier invocation marked LOST: 2 run again now (#4, #5), "
                + "1 cached (the same run succeeded before), 1 not in this invocation's sweep (other overrides), so not run; "
                + "this invocation runs 2 of 5 (3 cached)")
    }

    /// A study of one long run: the bar follows its steps instead of staying empty to the end.
    @Test func theShareDoneCountsTheRunningRunsSteps() {
        var p = ExperimentRunner.Progress()
        p.total = 1
        p.toRun = 1
        p.running = 1
        #expect(p.fractionDone == 0)
        p.steps = 1500
        p.totalSteps = 6000
        #expect(p.fractionDone == 0.25)
        p.total = 4                          // three more runs finished or cached
        p.cached = 3
        #expect(p.fractionDone == 3.25 / 4)
        p.finished = true
        #expect(p.fractionDone == 1)
    }
}
