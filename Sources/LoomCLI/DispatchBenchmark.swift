import Cluster
import Foundation

/// Tiny-task throughput through the coordinator: `echo` tasks to N local worker processes.
enum DispatchBenchmark {
    /// One worker count's result.
    struct Row {
        var workers: Int
        var slots: Int
        var tasks: Int
        /// Tasks per second from submission to the last result, median of the repeats.
        var tasksPerSecond: Double
        var samples: [Double]
    }

    /// Measures `tasks` echo tasks through a fresh local cluster per worker count.
    /// - Throws: `CommandError.failure` when the cluster cannot start or tasks do not finish.
    static func run(workerCounts: [Int], slots: Int, tasks: Int, repeats: Int,
                    progress: (String) -> Void) throws(CommandError) -> [Row] {
        var rows: [Row] = []
        for workers in workerCounts {
            progress("dispatch: \(workers) worker(s) × \(slots) slots, \(tasks) echo tasks × \(repeats) …")
            // Worker logs go to a scratch directory, removed afterwards: only the table matters here.
            let logs = FileManager.default.temporaryDirectory.appendingPathComponent("loom-bench-dispatch-\(getpid())-\(workers)")
            try? FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: logs) }
            let cluster: LocalCluster
            do {
                cluster = try LocalCluster(configuration: CoordinatorConfiguration(bind: ""),
                                           workers: workers, executable: ClusterOptions.executable,
                                           workerArguments: ["--slots", String(slots)],
                                           logDirectory: logs, bindsPrivately: true)
            } catch {
                throw .failure("dispatch benchmark: cannot start a local cluster: \(error)")
            }
            defer { cluster.stop() }
            guard cluster.waitForWorkers(workers, timeout: .seconds(30)) else {
                throw .failure("dispatch benchmark: \(workers) worker(s) did not register within 30 s")
            }
            _ = try batch(cluster, count: min(500, tasks))           // warm-up, discarded
            var samples: [Double] = []
            for _ in 0..<repeats { samples.append(try batch(cluster, count: tasks)) }
            rows.append(Row(workers: workers, slots: slots, tasks: tasks,
                            tasksPerSecond: samples.sorted()[samples.count / 2], samples: samples))
        }
        return rows
    }

    /// Submits `count` echo tasks and waits for all results; returns tasks per second.
    private static func batch(_ cluster: LocalCluster, count: Int) throws(CommandError) -> Double {
        let start = ContinuousClock.now
        let ids: [UInt64]
        do { ids = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("x")], count: count) } catch {
            throw .failure("dispatch benchmark: \(error)")
        }
        guard let results = cluster.coordinator.waitForResults(ids, timeout: .seconds(300)) else {
            throw .failure("dispatch benchmark: \(count) tasks did not finish within 300 s")
        }
        let seconds = (ContinuousClock.now - start).inSeconds
        guard results.allSatisfy(\.succeeded) else { throw .failure("dispatch benchmark: an echo task failed") }
        return Double(count) / seconds
    }
}
