import Cluster
import Foundation
import ProcessTestSupport
import Testing
import TensorCore
@testable import LoomCLI

/// A benchmark asked for more memory than the machine has stops with a usage error naming the
/// flag, and one asked for more local workers than one machine starts with LocalCluster's
/// refusal, before it allocates or spawns anything (they aborted in the allocator before).
@Suite struct BenchMemoryBoundTests {
    @Test(arguments: [
        (["bench", "attention", "--sizes", "100000000", "--head-dims", "64", "--naive-max", "0"], "lower --sizes, --heads or --head-dims"),
        (["bench", "attention", "--sizes", "300000", "--head-dims", "16", "--heads", "1", "--pass", "fwd", "--naive-max", "300000"],
         "with its materialised baseline needs"),
        (["bench", "attention", "--sizes", "9223372036854775807"], "more than 2^63 bytes"),
        (["bench", "gemm", "--tokens", "100000000", "--d", "1024"], "lower --tokens, --d or --vocabulary"),
        (["bench", "gemm", "--d", "9223372036854775807"], "--d must be at most 1048576"),
        (["bench", "sp", "--sizes", "100000000000", "--workers", "2"], "lower --sizes, --heads or --head-dim"),
        (["bench", "sched", "--runs", "100000000000"], "--runs must be at most 1000000"),
        (["bench", "wire", "--dispatch-tasks", "1000000000000"], "--dispatch-tasks must be at most 1000000"),
        (["bench", "wire", "--pings", "1000000000000"], "--pings must be at most 10000000"),
        (["bench", "train", "--models", "9223372036854775807x64"], "past 64 layers or a width of 65536"),
        (["bench", "fusions", "--models", "1x9223372036854775807"], "past 64 layers or a width of 65536"),
        (["bench", "train", "--models", "1x64", "--batch", "9223372036854775807"], "--batch must be at most 16777216"),
        (["bench", "fusions", "--models", "1x64", "--batch", "65536", "--context", "65536"], "more than the 2^24 rows"),
        (["sim", "--workers", "2", "--tokens", "1024", "--heads", "1000000000", "--head-dim", "1000000000", "--link-gbps", "1",
          "--compute-gflops", "1"], "--heads must be at most 4096"),
    ])
    func anOversizedCaseIsAUsageError(arguments: [String], names: String) throws {
        let outcome = try LoomProcess.run(arguments, deadline: .seconds(60))
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains(names), "\(outcome)")
        #expect(!outcome.standardError.contains("Fatal error"), "\(outcome)")
    }

    /// `loom run --workers`, `bench sp` and `bench sched` start their workers through
    /// `LocalCluster`, which refuses more than one machine starts before it binds or spawns.
    @Test func moreLocalWorkersThanOneMachineStartsAreRefused() throws {
        #expect(throws: ClusterError.self) {
            _ = try LocalCluster(configuration: CoordinatorConfiguration(bind: ""), workers: LocalCluster.maximumWorkers + 1,
                                 executable: URL(fileURLWithPath: "/nonexistent/loom"))
        }
        for arguments in [["bench", "sp", "--sizes", "64", "--workers", "2,100000"], ["bench", "sched", "--workers", "100000"]] {
            let outcome = try LoomProcess.run(arguments, deadline: .seconds(60))
            #expect(outcome.status != 0 && outcome.standardError.contains("give 256 or fewer"), "\(outcome)")
            #expect(!outcome.standardError.contains("Fatal error"), "\(outcome)")
        }
    }

    @Test func bytesAreCountedWithoutOverflow() throws {
        #expect(MemoryBudget.floatBytes([[2, 3], [4]]) == 40)
        #expect(MemoryBudget.floatBytes([[Int.max, 2]]) == nil)
        #expect(MemoryBudget.floatBytes([[Int.max / 4 + 1]]) == nil)
        #expect(throws: CommandError.self) { try MemoryBound.check(nil, "x", fix: "y") }
        #expect(throws: CommandError.self) { try MemoryBound.check(101, "x", fix: "y", budget: 100) }
        try MemoryBound.check(100, "x", fix: "y", budget: 100)
    }
}
