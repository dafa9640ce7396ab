import Experiments
import Foundation
import TensorCore
import ProcessTestSupport
import Testing

/// `loom run` as users run it: checks and expansion today; running needs the results store.
@Suite struct RunCommandTests {
    @Test func dryRunListsEveryRunOfTheQuickstart() throws {
        let outcome = try LoomProcess.run(["run", "experiments/quickstart.yaml", "--dry-run"],
                                          in: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent())
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("quickstart: 48 run(s) of attention.sharded on gangs of 2"), "\(outcome)")
    }

    @Test func overridesChangeTheExpansion() throws {
        let scratch = try TemporaryDirectory()
        try "name: x\ntask: gemm\nparams: {n: 64}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml"), "n=[32,48]", "threads=2", "--dry-run", "--json"])
        #expect(outcome.status == 0, "\(outcome)")
        let lines = outcome.standardOutput.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("\"n\":32") && lines[1].contains("\"n\":48") && lines[0].contains("\"threads\":2"), "\(outcome)")
    }

    @Test func aMalformedFileExitsTwoWithItsPlace() throws {
        let scratch = try TemporaryDirectory()
        try "name: x\ntask: gemm\nparams:\n  threds: 2\n".write(toFile: scratch.path("bad.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("bad.yaml"), "--dry-run"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.standardError.contains("\(scratch.path("bad.yaml")):4:3: unknown key 'threds'") && outcome.standardError.contains("did you mean 'threads'"), "\(outcome)")
    }

    @Test func aSecondRunOfTheSameFileIsCachedAndForceRunsAgain() throws {
        let scratch = try TemporaryDirectory()
        try "name: echoes\ntask: echo\nparams: {value: [a, b, c, d, e]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "2", "--state", scratch.path("state")]
        let first = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(first.status == 0 && first.standardOutput.contains("5 succeeded, 0 cached, 0 failed of 5"), "\(first)")
        let second = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(second.status == 0 && second.standardOutput.contains("0 succeeded, 5 cached, 0 failed of 5"), "\(second)")
        let changed = try LoomProcess.run(arguments + ["value=[a,z]"], deadline: .seconds(120))
        #expect(changed.status == 0 && changed.standardOutput.contains("1 succeeded, 1 cached"), "only the new value runs: \(changed)")
        let forced = try LoomProcess.run(arguments + ["--force"], deadline: .seconds(120))
        #expect(forced.status == 0 && forced.standardOutput.contains("5 succeeded, 0 cached"), "\(forced)")
        #expect(FileManager.default.fileExists(atPath: scratch.path("state/loom.db")))
    }

    @Test func failingRunsAreStoredAndExitOne() throws {
        let scratch = try TemporaryDirectory()
        try "name: failing\ntask: fail\nparams: {probability: 1}\nrepeat: 2\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let outcome = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1", "--state", scratch.path("state"),
                                           "--test-kinds"], deadline: .seconds(120))
        #expect(outcome.status == 1 && outcome.standardOutput.contains("0 succeeded, 0 cached, 2 failed of 2"), "\(outcome)")
    }
}

/// `loom runs`, `show` and `export` read back what `loom run` stored.
@Suite struct StoreCommandTests {
    @Test func runsShowAndExportReadTheStore() throws {
        let scratch = try TemporaryDirectory()
        try "name: echoes\ntask: echo\nparams: {value: [a, b, c]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state")]
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1"] + state, deadline: .seconds(120))
        try #require(ran.status == 0, "\(ran)")
        let runs = try LoomProcess.run(["runs", "--json"] + state)
        let lines = runs.standardOutput.split(separator: "\n")
        #expect(runs.status == 0 && lines.count == 3 && lines.allSatisfy { $0.contains("\"status\":\"SUCCEEDED\"") }, "\(runs)")
        #expect(lines[1].contains("\"metrics\":{\"value\":\"b\"}"), "\(runs)")
        let shown = try LoomProcess.run(["show", "2"] + state)
        #expect(shown.status == 0 && shown.standardOutput.contains("metrics      value=b") && shown.standardOutput.contains("loom_version"), "\(shown)")
        // What its worker computed on: the tile it chose, as this process chooses (or `make test` forces).
        #expect(shown.standardOutput.contains("machine      ") && shown.standardOutput.contains("tile \(TileKernel.active.rawValue), ")
                && shown.standardOutput.contains("(local-0)"), "\(shown)")
        let shownJSON = try LoomProcess.run(["show", "2", "--json"] + state)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shownJSON.standardOutput.utf8)) as? [String: Any], "\(shownJSON)")
        let machines = try #require(object["machines"] as? [String: [String: String]], "\(shownJSON)")
        #expect(machines["local-0"]?["tile"] == TileKernel.active.rawValue && machines["local-0"]?["cpu"]?.isEmpty == false, "\(machines)")
        let csv = try LoomProcess.run(["export", "--format", "csv"] + state)
        let rows = csv.standardOutput.split(separator: "\n")
        #expect(rows.first == "id,experiment,index,repetition,task,status,succeeded,attempt,lost_attempts,cached_from,created_at,"
                + "started_at,finished_at,duration_s,cache_key,git_commit,git_dirty,code_commit,error,param.value,metric.value"
                && rows.count == 4, "\(csv)")
        let missing = try LoomProcess.run(["runs", "--state", scratch.path("nowhere")])
        #expect(missing.status == 2 && missing.standardError.contains("no results store"), "\(missing)")
        let badStatus = try LoomProcess.run(["runs", "--status", "done"] + state)
        #expect(badStatus.status == 2, "\(badStatus)")
    }
}

/// Killing `loom run` itself mid-sweep, then running the same command: nothing finished runs twice.
@Suite(.serialized) struct ResumeTests {
    @Test func killNineOfTheCoordinatorThenTheSameCommandFinishesTheSweep() throws {
        let scratch = try TemporaryDirectory()
        let log = scratch.path("executions.txt")
        let values = (0..<200).map(String.init).joined(separator: ", ")
        try "name: resume\ntask: append\nparams:\n  path: \"\(log)\"\n  line: [\(values)]\n  seconds: 0.01\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "2", "--state", scratch.path("state"), "--test-kinds"]
        // First invocation: killed with SIGKILL once a good part of the sweep has executed.
        let process = try LoomProcess.start(arguments)
        let end = ContinuousClock.now + .seconds(60)
        func executed() -> [Substring] { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n") }
        while executed().count < 60 && ContinuousClock.now < end && process.isRunning { Thread.sleep(forTimeInterval: 0.01) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let beforeResume = executed().count
        #expect(beforeResume >= 60 && beforeResume < 200, "the kill should land mid-sweep (\(beforeResume) executed)")
        // `loom run` was writing a status or metric row every few milliseconds when it died.
        #expect(try ResultsStore(path: scratch.path("state/loom.db")).integrityCheck() == "ok")
        // Second invocation: the same command.
        let resumed = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(resumed.status == 0, "\(resumed)")
        #expect(resumed.standardError.contains("unfinished run(s) of an interrupted earlier invocation marked LOST: ")
                && resumed.standardError.contains(" run again now (#"), "the note says what runs again: \(resumed)")
        let export = try LoomProcess.run(["export", "--format", "jsonl", "--state", scratch.path("state")])
        let rows = export.standardOutput.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let second = rows.suffix(200)
        let settled = second.filter { ["SUCCEEDED", "CACHED"].contains($0["status"] as? String ?? "") }
        #expect(rows.count == 400 && settled.count == 200, "the second invocation ends with 200 succeeded or cached runs")
        let first = rows.prefix(200).map { $0["status"] as? String ?? "" }
        #expect(first.allSatisfy { $0 == "SUCCEEDED" || $0 == "LOST" } && first.contains("LOST"),
                "the killed invocation's unfinished runs are recorded as LOST")
        // A run stored as SUCCEEDED before the kill never executes again.
        let finishedFirst = rows.prefix(200).filter { $0["status"] as? String == "SUCCEEDED" }
            .compactMap { ($0["params"] as? [String: Any])?["line"].map { "\($0)" } }
        let counts = Dictionary(executed().map { (String($0), 1) }, uniquingKeysWith: +)
        #expect(!finishedFirst.isEmpty)
        for line in finishedFirst { #expect(counts[line] == 1, "run \(line) finished before the kill but executed \(counts[line] ?? 0) times") }
        #expect(Set(counts.keys) == Set((0..<200).map(String.init)), "every run executed at least once")
    }
}

/// Killing a worker under `loom run`: its run comes back as a new attempt, and the lost one stays
/// on record.
@Suite(.serialized) struct WorkerLossTests {
    /// The pids of `parent`'s child processes, from /proc.
    static func children(of parent: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
            return status.split(separator: "\n").contains { $0.hasPrefix("PPid:") && $0.split(separator: "\t").last.map(String.init) == String(parent) }
        }
    }

    /// A running task's curve reaches the store while it runs; the final result then replaces the
    /// streamed points, so each step is stored once.
    @Test func aRunningTasksCurveIsInTheStoreBeforeItFinishes() throws {
        try Self.expectCurveStreamed(through: ["--workers", "1"])
    }

    /// Runs a 60-step `steps` task with `dispatch` (local workers or `--connect`), watching the
    /// store: points arrive in order while the run is RUNNING, and exactly steps 1…60 remain after.
    static func expectCurveStreamed(through dispatch: [String]) throws {
        let scratch = try TemporaryDirectory()
        try "name: stream\ntask: steps\nparams: {steps: 60, seconds: 0.1}\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let process = try LoomProcess.start(["run", scratch.path("x.yaml"), "--quiet", "--state", scratch.path("state")] + dispatch)
        defer { if process.isRunning { process.terminate() } }
        let end = ContinuousClock.now + .seconds(60)
        var seenWhileRunning = 0
        while seenWhileRunning == 0 && ContinuousClock.now < end && process.isRunning {
            Thread.sleep(forTimeInterval: 0.1)
            guard FileManager.default.fileExists(atPath: scratch.path("state/loom.db")),
                  let store = try? ResultsStore(path: scratch.path("state/loom.db")),
                  let running = try? store.runs(status: .running), let run = running.first,
                  let points = try? store.series(run: run.id, name: "value"), !points.isEmpty,
                  (try? store.runs(status: .running).count) == 1   // still running after the read
            else { continue }
            seenWhileRunning = points.count
            #expect(points.map(\.step) == Array(1...points.count), "streamed steps arrive in order: \(points.map(\.step))")
        }
        #expect(seenWhileRunning > 0 && seenWhileRunning < 60, "points seen mid-run: \(seenWhileRunning)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let store = try ResultsStore(path: scratch.path("state/loom.db"))
        let run = try #require(try store.runs().first)
        #expect(run.status == .succeeded)
        let points = try store.series(run: run.id, name: "value")
        #expect(points.map(\.step) == Array(1...60) && points.map(\.value) == (1...60).map(Double.init),
                "each step once after the result: \(points.count) points")
    }

    @Test func killNineOfAWorkerMidSweepRecordsTheLostAttemptAndRunsItAgain() throws {
        let scratch = try TemporaryDirectory()
        try "name: losses\ntask: sleep\nparams: {seconds: [1.5, 1.6, 1.7, 1.8]}\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let state = ["--state", scratch.path("state")]
        let process = Process()
        process.executableURL = try LoomProcess.executable()
        process.arguments = ["run", scratch.path("x.yaml"), "--workers", "2"] + state
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Wait until both workers hold a run (the store says RUNNING), then kill one of them.
        let end = ContinuousClock.now + .seconds(60)
        var victim: Int32?
        while victim == nil && ContinuousClock.now < end && process.isRunning {
            Thread.sleep(forTimeInterval: 0.1)
            guard FileManager.default.fileExists(atPath: scratch.path("state/loom.db")),
                  let running = try? ResultsStore(path: scratch.path("state/loom.db")).runs(status: .running), running.count == 2
            else { continue }
            victim = Self.children(of: process.processIdentifier).first
        }
        let pid = try #require(victim, "no worker was seen running a task")
        kill(pid, SIGKILL)
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let said = String(decoding: stdout, as: UTF8.self) + String(decoding: stderr, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(said)")
        #expect(said.contains("4 succeeded") && said.contains("1 attempt(s) lost to workers and run again"), "\(said)")
        let store = try ResultsStore(path: scratch.path("state/loom.db"))
        let runs = try store.runs()
        #expect(runs.count == 4 && runs.allSatisfy { $0.status == .succeeded }, "\(runs.map(\.status))")
        let lost = runs.filter { $0.lostAttempts == 1 }
        try #require(lost.count == 1, "exactly one run lost an attempt: \(runs.map(\.lostAttempts))")
        let attempts = try store.attempts(run: lost[0].id)
        #expect(attempts.map(\.status) == ["LOST", "SUCCEEDED"] && lost[0].attempt == 2, "\(attempts)")
        #expect(attempts[0].workers != "" && attempts[0].error != nil, "\(attempts)")
        let workers = try store.workers(invocation: runs[0].invocation)
        #expect(workers.contains { $0.pid == Int(pid) } && workers.count >= 2, "the worker table records the killed one: \(workers)")
        let shown = try LoomProcess.run(["show", String(lost[0].id)] + state)
        #expect(shown.standardOutput.contains("attempt 1") && shown.standardOutput.contains("LOST on local-"), "\(shown)")
    }
}

/// What `--dry-run` says about each run, and `--rerun-failed`.
@Suite struct PlanTests {
    @Test func dryRunExplainsEachDecisionAndFailuresAreNotRepeatedUnlessAsked() throws {
        let scratch = try TemporaryDirectory()
        try "name: plan\ntask: fail\nparams: {probability: [0, 1]}\n".write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let arguments = ["run", scratch.path("x.yaml"), "--workers", "1", "--state", scratch.path("state"), "--test-kinds"]
        let fresh = try LoomProcess.run(arguments + ["--dry-run"])
        #expect(fresh.status == 0 && fresh.standardOutput.components(separatedBy: "(new: no earlier run has this cache key)").count == 3, "\(fresh)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("state/loom.db")), "a dry run creates no store")
        let first = try LoomProcess.run(arguments + ["--quiet"], deadline: .seconds(120))
        #expect(first.status == 1 && first.standardOutput.contains("1 succeeded, 0 cached, 1 failed of 2"), "\(first)")
        #expect(!first.standardError.contains("done ("), "--quiet prints no progress: \(first)")
        let planned = try LoomProcess.run(arguments + ["--dry-run", "--json"])
        let lines = planned.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.count == 2 && lines[0].contains("\"action\":\"cached\"") && lines[0].contains("SUCCEEDED"), "\(planned)")
        #expect(lines.count == 2 && lines[1].contains("\"action\":\"skip\"") && lines[1].contains("--rerun-failed"), "\(planned)")
        let again = try LoomProcess.run(arguments, deadline: .seconds(120))
        #expect(again.status == 1 && again.standardOutput.contains("0 succeeded, 1 cached, 1 failed of 2")
                && again.standardError.contains("--rerun-failed"), "the failure is not repeated: \(again)")
        let rerun = try LoomProcess.run(arguments + ["--rerun-failed", "--dry-run"])
        #expect(rerun.standardOutput.contains("--rerun-failed: run 2 with the same key FAILED"), "\(rerun)")
        let store = try ResultsStore(path: scratch.path("state/loom.db"))
        #expect(try store.runs().count == 4 && store.attempts(run: 2).count == 1 && store.attempts(run: 4).isEmpty,
                "the second invocation ran nothing")
    }
}

/// Artifacts a task writes are copied into the store with their checksums; `loom gc` cleans up.
@Suite struct ArtifactTests {
    @Test func artifactsAreCopiedWithTheirSHA256AndGCRemovesOnlyOrphans() throws {
        let scratch = try TemporaryDirectory()
        try """
            name: outputs
            task: attention.sharded
            params: {tokens: 64, heads: 2, head_dim: 8, output_dir: "\(scratch.path("out"))"}
            resources: {gang: 2}
            """.write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: scratch.path("out"), withIntermediateDirectories: true)
        let state = ["--state", scratch.path("state")]
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "2", "--quiet"] + state, deadline: .seconds(120))
        try #require(ran.status == 0, "\(ran)")
        let store = try ResultsStore(path: scratch.path("state/loom.db"))
        let artifacts = try store.artifacts(run: 1)
        try #require(!artifacts.isEmpty, "the ranks' output chunks are artifacts")
        for artifact in artifacts {
            #expect(artifact.path.hasPrefix(scratch.path("state/artifacts/1/")), "\(artifact.path)")
            let data = try Data(contentsOf: URL(fileURLWithPath: artifact.path))
            #expect(data.count == artifact.bytes)
            var hash = SHA256()
            hash.update(data)
            #expect(hash.hexDigest() == artifact.sha256)
        }
        let shown = try LoomProcess.run(["show", "1"] + state)
        #expect(shown.standardOutput.contains("artifact") && shown.standardOutput.contains("sha256 \(artifacts[0].sha256)"), "\(shown)")
        // An orphan: a file no row names. gc --dry-run lists it, gc removes it and nothing else.
        let orphan = scratch.path("state/artifacts/99/stray.bin")
        try FileManager.default.createDirectory(atPath: scratch.path("state/artifacts/99"), withIntermediateDirectories: true)
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: orphan))
        let dry = try LoomProcess.run(["gc", "--dry-run"] + state)
        #expect(dry.status == 0 && dry.standardOutput.contains("would remove \(orphan)") && FileManager.default.fileExists(atPath: orphan), "\(dry)")
        let gc = try LoomProcess.run(["gc"] + state)
        #expect(gc.status == 0 && gc.standardOutput.contains("removed 1 file(s)"), "\(gc)")
        #expect(!FileManager.default.fileExists(atPath: orphan) && artifacts.allSatisfy { FileManager.default.fileExists(atPath: $0.path) })
        let typo = try LoomProcess.run(["gc", "--experiment", "output"] + state)
        #expect(typo.status == 2 && typo.standardError.contains("did you mean 'outputs'"), "\(typo)")
        let dropped = try LoomProcess.run(["gc", "--experiment", "outputs"] + state)
        #expect(dropped.status == 0 && dropped.standardOutput.contains("removed experiment outputs with 1 run(s)"), "\(dropped)")
        #expect(try ResultsStore(path: scratch.path("state/loom.db")).runs().isEmpty)
        #expect(artifacts.allSatisfy { !FileManager.default.fileExists(atPath: $0.path) }, "its artifact files go with it")
    }

    /// An input naming a device was hashed for the cache key forever (/dev/urandom), ignoring
    /// Ctrl-C; it is refused before anything runs, naming the run and the parameter.
    @Test func anInputThatIsADeviceIsRefused() throws {
        let scratch = try TemporaryDirectory()
        try "name: d\ntask: sim.run\nparams: {algorithm: ring, topology: /dev/zero, tokens: 4096}\n"
            .write(toFile: scratch.path("d.yaml"), atomically: true, encoding: .utf8)
        for extra in [["--dry-run"], ["--workers", "1"]] {
            let outcome = try LoomProcess.run(["run", scratch.path("d.yaml")] + extra, in: scratch.url, deadline: .seconds(30))
            #expect(outcome.status == 2 && outcome.standardError.contains("run 1: parameter 'topology': /dev/zero is not a regular file or a folder"),
                    "\(outcome)")
        }
    }

    /// A preset named by its name (not a path) is an input too: editing its file makes a new run
    /// (its cache key once held only the name, so an edited preset gave stale cached results).
    @Test func editingAPresetChangesTheCacheKey() throws {
        let scratch = try TemporaryDirectory()
        // A checkout of its own: the presets are read from ./topologies beside a Package.swift.
        try FileManager.default.createDirectory(atPath: scratch.path("topologies"), withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: scratch.path("Package.swift")))
        let preset = "name: mine\nsource: a test's own\nkind: ring\nranks: 4\nlink: {gbytes_per_s: 32, latency_us: 5}\ncompute: {tflops: 125, forward: 0.5, backward: 0.5, memory_gbytes_per_s: 600, merge: 0.4}\n"
        try preset.write(toFile: scratch.path("topologies/mine.yaml"), atomically: true, encoding: .utf8)
        try "name: p\ntask: sim.run\nparams: {algorithm: ring, topology: mine, tokens: 4096}\n"
            .write(toFile: scratch.path("p.yaml"), atomically: true, encoding: .utf8)
        func key() throws -> String {
            let outcome = try LoomProcess.run(["run", "p.yaml", "--dry-run", "--json"], in: scratch.url, deadline: .seconds(30))
            try #require(outcome.status == 0, "\(outcome)")
            let object = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.split(separator: "\n")[0].utf8)) as? [String: Any]
            return try #require(object?["cache_key"] as? String)
        }
        let before = try key()
        #expect(try key() == before, "the same preset, the same key")
        try preset.replacingOccurrences(of: "gbytes_per_s: 32", with: "gbytes_per_s: 0.5")
            .write(toFile: scratch.path("topologies/mine.yaml"), atomically: true, encoding: .utf8)
        #expect(try key() != before)
    }

    @Test func anArtifactThatCannotBeCopiedIsToldWithItsFix() throws {
        let scratch = try TemporaryDirectory()
        // `write: false` reports a path nothing wrote, as a worker on another machine would.
        try """
            name: remote
            task: artifact
            params: {path: "\(scratch.path("on-another-host/ce.npy"))", write: false}
            """.write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "1", "--state", scratch.path("state"), "--test-kinds"],
                                      deadline: .seconds(120))
        #expect(ran.status == 0, "the run's result stands: \(ran)")
        #expect(ran.standardError.contains("run 1: 1 artifact file(s) are not on this machine")
                && ran.standardError.contains("shared filesystem"), "\(ran)")
        #expect(try ResultsStore(path: scratch.path("state/loom.db")).artifacts(run: 1).isEmpty)
    }

    @Test func sha256MatchesTheStandardVectors() {
        func digest(_ text: String) -> String { var hash = SHA256(); hash.update(Array(text.utf8)); return hash.hexDigest() }
        #expect(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        for _ in 0..<1000 { million.update([UInt8](repeating: 0x61, count: 1000)) }
        #expect(million.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

/// `resources.timeout` and `resources.retries` as the coordinator enforces them.
@Suite struct TimeoutTests {
    @Test func anAttemptPastItsTimeoutFailsAndIsRetriedByPolicy() throws {
        let scratch = try TemporaryDirectory()
        try "name: slow\ntask: sleep\nparams: {seconds: [0.1, 60]}\nresources: {timeout: 1, retries: 1}\n"
            .write(toFile: scratch.path("x.yaml"), atomically: true, encoding: .utf8)
        let start = ContinuousClock.now
        let ran = try LoomProcess.run(["run", scratch.path("x.yaml"), "--workers", "2", "--state", scratch.path("state")],
                                      deadline: .seconds(60))
        #expect(ContinuousClock.now - start < .seconds(30), "the 60 s sleep was cut short")
        #expect(ran.status == 1 && ran.standardOutput.contains("1 succeeded, 0 cached, 1 failed of 2"), "\(ran)")
        let store = try ResultsStore(path: scratch.path("state/loom.db"))
        let slow = try #require(try store.runs().first { $0.status == .failed })
        #expect(slow.error?.contains("timed out after 1 s") == true && slow.attempt == 2, "\(slow)")
        #expect(try store.attempts(run: slow.id).map(\.status) == ["FAILED", "FAILED"])
    }
}
