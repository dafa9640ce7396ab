import Foundation
import ProcessTestSupport
import Testing

/// `loom sim` as users run it: a prediction in JSON, and bad settings refused before any work.
@Suite struct SimCommandTests {
    @Test func aComputeBoundRingIsPStepsOfCompute() throws {
        let ran = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "4", "--tokens", "4096", "--link-gbps", "1000000",
                                       "--compute-gflops", "50", "--json"])
        #expect(ran.status == 0, "\(ran)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(ran.standardOutput.utf8)) as? [String: Any])
        let predicted = try #require(object["predicted_s"] as? Double)
        let expected = 4 * (4 * 1024.0 * 1024 * 8 * 64 / 50e9)     // 4 steps of a 1024 × 1024 block, H = 8, d = 64
        #expect(abs(predicted - expected) / expected < 1e-4, "\(predicted) vs \(expected)")
        #expect(object["bytes_sent"] as? Int == 4 * 3 * 2 * 1024 * 8 * 64 * 4)
    }

    /// `--pinned` and `--copy-gbps` on the command line: three compute-bound ranks on two cores
    /// take 2 × the work per step pinned (1.5 × shared), and copies add to that.
    @Test func pinnedRanksAndCopiesOnTheCommandLine() throws {
        func predicted(_ extra: [String]) throws -> Double? {
            let ran = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "3", "--tokens", "3072", "--link-gbps", "1000000",
                                           "--compute-gflops", "50", "--cores", "2", "--json"] + extra)
            let object = try JSONSerialization.jsonObject(with: Data(ran.standardOutput.utf8)) as? [String: Any]
            return object?["predicted_s"] as? Double
        }
        let shared = try #require(try predicted([])), pinned = try #require(try predicted(["--pinned"]))
        #expect(abs(pinned / shared - 2 / 1.5) < 1e-3, "\(shared) \(pinned)")
        let copying = try #require(try predicted(["--copy-gbps", "1"]))
        #expect(copying > shared, "\(shared) \(copying)")
        let lone = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "3", "--tokens", "3072", "--link-gbps", "1", "--compute-gflops", "50", "--pinned"])
        #expect(lone.status == 2 && lone.standardError.contains("give --cores"), "\(lone)")
        let bad = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "3", "--tokens", "3072", "--link-gbps", "1", "--compute-gflops", "50",
                                       "--copy-gbps", "-1"])
        #expect(bad.status == 2 && bad.standardError.contains("--copy-gbps"), "\(bad)")
    }

    /// `--all-to-all-efficiency` slows Ulysses' exchanges only; `sim.run` takes it (and the
    /// pinning) as parameters, and refuses a value above 1 when the file is read.
    @Test func anAllToAllBelowItsLinks() throws {
        func predicted(_ algorithm: String, _ extra: [String]) throws -> Double? {
            let ran = try LoomProcess.run(["sim", "--algorithm", algorithm, "--workers", "4", "--tokens", "4096", "--link-gbps", "1",
                                           "--compute-gflops", "1000000", "--json"] + extra)
            let object = try JSONSerialization.jsonObject(with: Data(ran.standardOutput.utf8)) as? [String: Any]
            return object?["predicted_s"] as? Double
        }
        let ulysses = try #require(try predicted("ulysses", [])), slow = try #require(try predicted("ulysses", ["--all-to-all-efficiency", "0.5"]))
        #expect(slow / ulysses > 1.9, "\(ulysses) \(slow)")
        #expect(try predicted("ring", ["--all-to-all-efficiency", "0.5"]) == predicted("ring", []))
        let bad = try LoomProcess.run(["sim", "--workers", "4", "--tokens", "64", "--link-gbps", "1", "--compute-gflops", "1", "--all-to-all-efficiency", "2"])
        #expect(bad.status == 2 && bad.standardError.contains("at most 1"), "\(bad)")

        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("sim.yaml")
        try "name: sim-a2a\ntask: sim.run\nparams: {workers: 4, tokens: 4096, link_gbps: 1, compute_gflops: 1000000, algorithm: ulysses, all_to_all_efficiency: [1, 0.5]}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let good = try LoomProcess.run(["run", file.path, "--workers", "1", "--quiet", "--no-report"], in: directory.url)
        #expect(good.status == 0 && good.standardOutput.contains("2 succeeded"), "\(good)")
        try "name: sim-a2a-bad\ntask: sim.run\nparams: {workers: 4, tokens: 4096, link_gbps: 1, compute_gflops: 1, all_to_all_efficiency: 1.5}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let refused = try LoomProcess.run(["run", file.path, "--dry-run"], in: directory.url)
        #expect(refused.status != 0 && refused.standardError.contains("all_to_all_efficiency"), "\(refused)")
        try "name: sim-pin-bad\ntask: sim.run\nparams: {workers: 4, tokens: 4096, link_gbps: 1, compute_gflops: 1, pinned: \"true\"}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let unpinnable = try LoomProcess.run(["run", file.path, "--dry-run"], in: directory.url)
        #expect(unpinnable.status != 0 && unpinnable.standardError.contains("set cores"), "\(unpinnable)")
    }

    @Test func badSettingsAreRefused() throws {
        let ulysses = try LoomProcess.run(["sim", "--algorithm", "ulysses", "--workers", "4", "--tokens", "64", "--heads", "6", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(ulysses.status == 2 && ulysses.standardError.contains("must divide heads"), "\(ulysses)")
        let unknown = try LoomProcess.run(["sim", "--algorithm", "hypercube", "--workers", "4", "--tokens", "64", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(unknown.status == 2 && unknown.standardError.contains("tokenring, ulysses or usp"), "\(unknown)")
        let degree = try LoomProcess.run(["sim", "--algorithm", "usp", "--ulysses-degree", "3", "--workers", "4", "--tokens", "64",
                                          "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(degree.status == 2 && degree.standardError.contains("ulysses_degree = one of 1, 2, 4"), "\(degree)")
        let trace = try LoomProcess.run(["sim", "--algorithm", "ring", "--workers", "600", "--tokens", "6000", "--link-gbps", "1",
                                         "--compute-gflops", "1", "--trace", "/tmp/loom-never-written.json"])
        #expect(trace.status == 2 && trace.standardError.contains("kept up to 512 ranks"), "\(trace)")
        let both = try LoomProcess.run(["sim", "--topology", "4xA10-pcie", "--tokens", "64", "--link-gbps", "1"])
        #expect(both.status == 2 && both.standardError.contains("not both"), "\(both)")
        let preset = try LoomProcess.run(["sim", "--topology", "8xA100", "--tokens", "64"])
        #expect(preset.status == 2 && preset.standardError.contains("presets: 4xA10-pcie, 8xA100-nvlink"), "\(preset)")
        let odd = try LoomProcess.run(["sim", "--topology", "ib-fat-tree", "--workers", "12", "--tokens", "4096"])
        #expect(odd.status == 2 && odd.standardError.contains("ib-fat-tree.yaml:") && odd.standardError.contains("per_node"), "\(odd)")
        let tiny = try LoomProcess.run(["sim", "--algorithm", "zigzag_ring", "--workers", "4", "--tokens", "7", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(tiny.status == 2 && tiny.standardError.contains("8 chunks"), "\(tiny)")
        let gqa = try LoomProcess.run(["sim", "--workers", "2", "--tokens", "64", "--heads", "6", "--kv-heads", "4", "--link-gbps", "1", "--compute-gflops", "1"])
        #expect(gqa.status == 2 && gqa.standardError.contains("multiple"), "\(gqa)")
        // A latency that is not a number was once taken as 0 without a word.
        for latency in ["ten", "-1", "nan", "1e30"] {
            let bad = try LoomProcess.run(["sim", "--workers", "2", "--tokens", "64", "--link-gbps", "1", "--latency-us", latency, "--compute-gflops", "1"])
            #expect(bad.status == 2 && bad.standardError.contains("--latency-us expects microseconds in 0…1000000, got '\(latency)'"), "\(bad)")
        }
    }

    @Test func everyAlgorithmRunsOnAPreset() throws {
        for algorithm in ["ring", "zigzag_ring", "tokenring", "ulysses"] {
            let ran = try LoomProcess.run(["sim", "--algorithm", algorithm, "--topology", "8xA100-nvlink", "--tokens", "65536", "--heads", "32",
                                           "--kv-heads", "8", "--head-dim", "128", "--causal", "--backward", "--dtype", "bf16", "--json"])
            #expect(ran.status == 0, "\(ran)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(ran.standardOutput.utf8)) as? [String: Any])
            #expect(object["topology"] as? String == "8xA100-nvlink" && object["workers"] as? Int == 8)
            let forward = object["forward_s"] as? Double ?? 0, backward = object["backward_s"] as? Double ?? 0
            #expect(forward > 0 && backward > forward && (object["transfers"] as? Int ?? 0) > 0, "\(object)")
            #expect(abs((object["predicted_s"] as? Double ?? 0) - (forward + backward)) <= 1e-5 * (forward + backward))   // JSON keeps 6–7 digits
            #expect(object["element_bytes"] as? Int == 2)
        }
    }

    @Test func theTraceHasARankTrackAndAnArrowPerTransfer() throws {
        let directory = try TemporaryDirectory()
        let path = directory.url.appendingPathComponent("sim.json").path
        let ran = try LoomProcess.run(["sim", "--algorithm", "tokenring", "--workers", "3", "--tokens", "3000", "--causal", "--link-gbps", "2",
                                       "--latency-us", "10", "--compute-gflops", "40", "--trace", path])
        #expect(ran.status == 0, "\(ran)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        let events = try #require(object["traceEvents"] as? [[String: Any]])
        #expect(Set(events.compactMap { $0["tid"] as? Int }) == [0, 1, 2])
        #expect(events.contains { $0["name"] as? String == "compute" } && events.contains { $0["name"] as? String == "q" })
        let missing = try LoomProcess.run(["sim", "--workers", "2", "--tokens", "64", "--link-gbps", "1", "--compute-gflops", "1",
                                           "--trace", "/nonexistent-directory/t.json"])
        #expect(missing.status == 2, "\(missing)")
    }

    @Test func aSimRunWithoutLinksOrTopologyIsRefusedWhenTheFileIsRead() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("sim.yaml")
        try "name: sim-bad\ntask: sim.run\nparams: {workers: 4, tokens: 4096}\n".write(to: file, atomically: true, encoding: .utf8)
        let ran = try LoomProcess.run(["run", file.path, "--dry-run"], in: directory.url)
        #expect(ran.status != 0 && ran.standardError.contains("link_gbps"), "\(ran)")
        try "name: sim-good\ntask: sim.run\nparams: {workers: 4, tokens: 4096, link_gbps: 5, compute_gflops: 100, algorithm: [ring, ulysses]}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let good = try LoomProcess.run(["run", file.path, "--workers", "1", "--quiet", "--no-report"], in: directory.url)
        #expect(good.status == 0 && good.standardOutput.contains("2 succeeded"), "\(good)")
    }

    /// With workers 0 the topology's ranks decide the shape, and `--dry-run` checks it (it once
    /// skipped the check and left a missing topology to the first run).
    @Test func aSimRunOnATopologysRanksIsCheckedAtDryRun() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("sim.yaml")
        try "name: sim-shape\ntask: sim.run\nparams: {topology: 4xA10-pcie, tokens: 4096, heads: 6, algorithm: ulysses}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let shape = try LoomProcess.run(["run", file.path, "--dry-run"])
        #expect(shape.status != 0 && shape.standardError.contains("heads"), "\(shape)")
        try "name: sim-missing\ntask: sim.run\nparams: {topology: no-such-cluster, tokens: 4096}\n".write(to: file, atomically: true, encoding: .utf8)
        let missing = try LoomProcess.run(["run", file.path, "--dry-run"])
        #expect(missing.status != 0 && missing.standardError.contains("no preset named 'no-such-cluster'"), "\(missing)")
        try "name: sim-fine\ntask: sim.run\nparams: {topology: 4xA10-pcie, tokens: 4096, heads: 8, algorithm: ulysses}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let fine = try LoomProcess.run(["run", file.path, "--dry-run"])
        #expect(fine.status == 0, "\(fine)")
    }

    @Test func benchSimPrintsARowPerCaseAgainstTheQueue() throws {
        let ran = try LoomProcess.run(["bench", "sim", "--workers", "4,8", "--algorithms", "zigzag_ring,tokenring", "--repeat", "1"])
        #expect(ran.status == 0, "\(ran)")
        let rows = ran.standardOutput.split(separator: "\n").filter { $0.contains("zigzag_ring") || $0.contains("tokenring") }
        #expect(rows.count == 4 && ran.standardOutput.contains("queue events/s"), "\(ran)")
        let bad = try LoomProcess.run(["bench", "sim", "--workers", "1"])
        #expect(bad.status == 2 && bad.standardError.contains("outside 2…4096"), "\(bad)")
    }

    @Test func calibrateWritesAProfileThatLoomSimReads() throws {
        let directory = try TemporaryDirectory()
        let profile = directory.url.appendingPathComponent("this.yaml").path
        let ran = try LoomProcess.run(["sim", "calibrate", "--quick", "--chunk", "128", "--heads", "2", "--out", profile], deadline: .seconds(300))
        #expect(ran.status == 0 && ran.standardOutput.contains("GFLOP/s per rank"), "\(ran)")
        let text = try String(contentsOfFile: profile, encoding: .utf8)
        #expect(text.contains("cores: \(ProcessInfo.processInfo.activeProcessorCount)") && text.contains("kind: mesh") && text.contains("copy_gbytes_per_s:"), "\(text)")
        let predicted = try LoomProcess.run(["sim", "--topology", profile, "--workers", "3", "--algorithm", "tokenring", "--tokens", "3072", "--json"])
        #expect(predicted.status == 0, "\(predicted)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(predicted.standardOutput.utf8)) as? [String: Any])
        #expect((object["predicted_s"] as? Double ?? 0) > 0 && object["workers"] as? Int == 3)
        let missing = try LoomProcess.run(["sim", "calibrate"])
        #expect(missing.status == 2 && missing.standardError.contains("--out"), "\(missing)")
    }

    /// The published comparison prints every number with its role and the held-out summary.
    @Test func publishedPrintsEachNumberBesideItsPrediction() throws {
        let ran = try LoomProcess.run(["sim", "published"])
        #expect(ran.status == 0, "\(ran)")
        #expect(ran.standardOutput.contains("ring-flash-attention") && ran.standardOutput.contains("TokenRing README"), "\(ran)")
        #expect(ran.standardOutput.contains("(calibration)") && ran.standardOutput.contains("held out: 9 numbers"), "\(ran)")
        let json = try LoomProcess.run(["sim", "published", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        #expect((object["rows"] as? [Any])?.count == 11 && (object["held_out_max_abs_error"] as? Double ?? 1) <= 0.2, "\(json)")
        let directory = try TemporaryDirectory()
        let report = try LoomProcess.run(["sim", "published", "--report", directory.url.path])
        #expect(report.status == 0, "\(report)")
        let index = try String(contentsOf: directory.url.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("sim-published") && index.contains("TokenRing README") && index.contains("not met"), "\(index.prefix(400))")
        #expect(FileManager.default.fileExists(atPath: directory.url.appendingPathComponent("published.svg").path))
    }

    /// The validation's plumbing on a tiny case (its errors are timings, so they are not asserted:
    /// `loom sim validate` in BENCHMARKS.md is the measurement); `--from` on the saved measurements
    /// prints the very same rows.
    @Test func validateRunsEachCaseAndPredictsIt() throws {
        let directory = try TemporaryDirectory()
        let report = directory.url.appendingPathComponent("report"), saved = directory.url.appendingPathComponent("measured.json").path
        let ran = try LoomProcess.run(["sim", "validate", "--workers", "2", "--sizes", "256", "--links", "0,2", "--kv-heads", "8",
                                       "--ulysses-degree", "2", "--save", saved, "--report", report.path], deadline: .seconds(600))
        #expect(ran.status == 0, "\(ran)")
        // The report: both figures drawn by gnuplot, every run in the scatter's data.
        for file in ["scatter.svg", "scatter.pdf", "error.svg", "index.html", "index.md"] {
            #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent(file).path), "\(file)")
        }
        let scatter = try String(contentsOf: report.appendingPathComponent("scatter.dat"), encoding: .utf8)
        #expect(scatter.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.count >= 20, "\(scatter)")
        // 5 schedules (usp with u = 2) × causal or not × 2 links.
        func rows(_ text: String) -> [Substring] { text.split(separator: "\n").filter { $0.contains(" %") && !$0.contains(" runs") } }
        #expect(rows(ran.standardOutput).count == 20 && ran.standardOutput.contains("20 runs: mean |error|"), "\(ran)")
        #expect(rows(ran.standardOutput).filter { $0.contains("usp u=2") }.count == 4, "\(ran)")
        // The same measurements predicted again: every row, predicted column included, identical.
        // The merges' rate is measured with each block shape and saved with it.
        let file = try String(contentsOfFile: saved, encoding: .utf8)
        #expect(file.contains("\"merge_bytes_per_s\"") && !file.contains("\"merge_bytes_per_s\": null") && ran.standardOutput.contains("merges"),
                "\(file.prefix(600))")
        let again = try LoomProcess.run(["sim", "validate", "--from", saved], deadline: .seconds(120))
        #expect(again.status == 0 && again.standardOutput.contains("measurements from \(saved)"), "\(again)")
        #expect(rows(again.standardOutput) == rows(ran.standardOutput), "\(again)\n\(ran)")
        let bad = try LoomProcess.run(["sim", "validate", "--kv-heads", "3"])
        #expect(bad.status == 2 && bad.standardError.contains("must divide the 8 heads"), "\(bad)")
    }

    /// `--from` reads its file as input: a hand-written file predicts, and a truncated file, a
    /// wrong type or a value out of range is refused with the file and the field named.
    @Test func validateFromRefusesAMalformedFile() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("measured.json").path
        let good = """
            {"format": "loom-sim-validate", "version": 1,
             "calibration": {"host": "h", "cpu": "c", "commit": "abc", "build": "debug", "date": "2026-01-01T00:00:00Z", "cores": 2,
                             "latency_s": 5e-05, "bandwidth_gbps": 4.0, "heads": 8, "head_dim": 64,
                             "rates": [{"tokens": 128, "heads": 8, "kv_heads": 8, "full_flops_per_s": 4e10, "causal_flops_per_s": 2.5e10},
                                       {"tokens": 256, "heads": 4, "kv_heads": 4, "full_flops_per_s": 5e10, "causal_flops_per_s": 4e10}]},
             "cases": [{"algorithm": "ring", "workers": 2, "tokens": 256, "causal": true, "kv_heads": 8, "link_gbps": null,
                        "ulysses_degree": null, "measured_s": 0.005, "rank0_steps_s": [0.002, 0.003], "ranks": []},
                       {"algorithm": "usp", "workers": 2, "tokens": 256, "causal": false, "kv_heads": 8, "link_gbps": 2,
                        "ulysses_degree": 2, "measured_s": 0.01, "rank0_steps_s": [], "ranks": []}]}
            """
        func from(_ text: String) throws -> LoomProcess.Outcome {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return try LoomProcess.run(["sim", "validate", "--from", file])
        }
        let ran = try from(good)
        #expect(ran.status == 0 && ran.standardOutput.contains("2 runs: mean |error|") && ran.standardOutput.contains("usp u=2"), "\(ran)")
        let refusals = [
            (String(good.prefix(good.count / 2)), "not valid JSON"),
            (good.replacingOccurrences(of: "\"workers\": 2, \"tokens\": 256, \"causal\": true", with: "\"workers\": \"2\", \"tokens\": 256, \"causal\": true"),
             "cases[0].workers: expected a whole number"),
            (good.replacingOccurrences(of: "\"cores\": 2", with: "\"cores\": 0"), "calibration.cores: 0 is outside 1…4096"),
            (good.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"), "this loom reads version 1"),
        ]
        for (text, message) in refusals {
            let refused = try from(text)
            #expect(refused.status == 2 && refused.standardError.contains(file) && refused.standardError.contains(message), "\(message): \(refused)")
        }
    }

    /// A saved shared-core efficiency slows the prediction of the cases with more ranks than
    /// cores, and an efficiency outside (0, 1] is refused.
    @Test func validateFromUsesTheSavedCoreSharing() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("shared.json").path
        func record(_ efficiency: String) -> String {
            """
            {"format": "loom-sim-validate", "version": 1,
             "calibration": {"host": "h", "cpu": "c", "commit": "abc", "build": "debug", "date": "2026-01-01T00:00:00Z", "cores": 2,
                             "latency_s": 5e-05, "bandwidth_gbps": 4.0, "heads": 8, "head_dim": 64,
                             "rates": [{"tokens": 128, "heads": 8, "kv_heads": 8, "full_flops_per_s": 4e10, "causal_flops_per_s": 2.5e10,
                                        "sharing": [{"ranks": 4, "efficiency": \(efficiency)}]}]},
             "cases": [{"algorithm": "ring", "workers": 4, "tokens": 512, "causal": false, "kv_heads": 8, "link_gbps": null,
                        "ulysses_degree": null, "measured_s": 0.01, "rank0_steps_s": [], "ranks": []}]}
            """
        }
        func predicted(_ efficiency: String) throws -> Double? {
            try record(efficiency).write(toFile: file, atomically: true, encoding: .utf8)
            return try Self.predictedRing(from: file)
        }
        let full = try #require(try predicted("1")), half = try #require(try predicted("0.5"))
        // Compute-bound on four ranks: the cores at half their fair share take twice as long.
        #expect(half > 1.9 * full && half < 2.1 * full, "\(full) \(half)")
        try record("2").write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try LoomProcess.run(["sim", "validate", "--from", file])
        #expect(refused.status == 2 && refused.standardError.contains("efficiency"), "\(refused)")
    }

    /// Runs saved as pinned are predicted with each rank on its own core's share, and a saved copy
    /// rate charges every transfer to the cores at both ends; the flags that change what is
    /// measured are refused with --from, and --recalibrate needs it.
    @Test func validateFromFollowsThePinnedPlacementAndTheCopies() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("pinned.json").path
        func predicted(pinned: Bool, copy: String) throws -> Double? {
            let text = """
                {"format": "loom-sim-validate", "version": 1,
                 "calibration": {"host": "h", "cpu": "c", "commit": "abc", "build": "debug", "date": "2026-01-01T00:00:00Z", "cores": 2,
                                 "latency_s": 5e-05, "bandwidth_gbps": 4.0, "copy_gbps": \(copy), "heads": 8, "head_dim": 64,
                                 "rates": [{"tokens": 128, "heads": 8, "kv_heads": 8, "full_flops_per_s": 4e10, "causal_flops_per_s": 2.5e10}]},
                 "cases": [{"algorithm": "ring", "workers": 3, "tokens": 384, "causal": false, "kv_heads": 8, "link_gbps": null,
                            "ulysses_degree": null, "pinned": \(pinned), "measured_s": 0.01, "rank0_steps_s": [], "ranks": []}]}
                """
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return try Self.predictedRing(from: file)
        }
        let shared = try #require(try predicted(pinned: false, copy: "null")), pinned = try #require(try predicted(pinned: true, copy: "null"))
        // Compute-bound, three ranks on two cores: 1.5 × the work per step shared, 2 × pinned.
        #expect(pinned > 1.25 * shared && pinned < 1.4 * shared, "\(shared) \(pinned)")
        let copying = try #require(try predicted(pinned: false, copy: "1"))
        // Two steps send and take 512 KiB each: 2 MiB of copies at 1 GB/s, shared by 3 ranks on 2 cores.
        #expect(copying > shared + 0.001, "\(shared) \(copying)")
        for flags in [["--unpinned"], ["--quick"], ["--save", directory.url.appendingPathComponent("x.json").path]] {
            let refused = try LoomProcess.run(["sim", "validate", "--from", file] + flags)
            #expect(refused.status == 2 && refused.standardError.contains("does not apply"), "\(flags): \(refused)")
        }
        let alone = try LoomProcess.run(["sim", "validate", "--recalibrate"])
        #expect(alone.status == 2 && alone.standardError.contains("give it with --from"), "\(alone)")
    }

    /// A case's own rate (timed just before its group ran) predicts it, not the calibration's;
    /// --recalibrate replaces both.
    @Test func validateFromPrefersACasesOwnRate() throws {
        let directory = try TemporaryDirectory()
        let file = directory.url.appendingPathComponent("rates.json").path
        func predicted(caseRate: String) throws -> Double? {
            let text = """
                {"format": "loom-sim-validate", "version": 1,
                 "calibration": {"host": "h", "cpu": "c", "commit": "abc", "build": "debug", "date": "2026-01-01T00:00:00Z", "cores": 2,
                                 "latency_s": 5e-05, "bandwidth_gbps": 4.0, "heads": 8, "head_dim": 64,
                                 "rates": [{"tokens": 128, "heads": 8, "kv_heads": 8, "full_flops_per_s": 4e10, "causal_flops_per_s": 2.5e10}]},
                 "cases": [{"algorithm": "ring", "workers": 2, "tokens": 256, "causal": false, "kv_heads": 8, "link_gbps": null,
                            "ulysses_degree": null, "rate": \(caseRate), "measured_s": 0.01, "rank0_steps_s": [], "ranks": []}]}
                """
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return try Self.predictedRing(from: file)
        }
        let calibrated = try #require(try predicted(caseRate: "null"))
        let own = try #require(try predicted(caseRate: """
            {"tokens": 128, "heads": 8, "kv_heads": 8, "full_flops_per_s": 2e10, "causal_flops_per_s": 1.25e10}
            """))
        // Compute-bound: half the rate, about twice the time.
        #expect(own > 1.8 * calibrated && own < 2.1 * calibrated, "\(calibrated) \(own)")
        try predictedRefusal(file: file)
    }

    private func predictedRefusal(file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: "\"full_flops_per_s\": 2e10", with: "\"full_flops_per_s\": -1")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try LoomProcess.run(["sim", "validate", "--from", file])
        #expect(refused.status == 2 && refused.standardError.contains("cases[0].rate.full_flops_per_s"), "\(refused)")
    }

    /// The prediction of the one ring case in a file `--from` reads (numbers in its row: P, n,
    /// Hkv, measured, predicted, error).
    static func predictedRing(from file: String) throws -> Double? {
        let ran = try LoomProcess.run(["sim", "validate", "--from", file])
        let row = ran.standardOutput.split(separator: "\n").first { $0.hasPrefix("        ring") }
        return row.flatMap { line in line.split(separator: " ").compactMap { Double($0) }.dropFirst(4).first }
    }
}
