import Cluster
import Foundation
import TensorCore
import Wire

/// `loom bench wire`: tensor transfer rates between two processes on this host — shared memory,
/// ipc:// and tcp://127.0.0.1 — against memcpy, and round-trip latency.
enum BenchWireCommand: Command {
    static let words = ["bench", "wire"]
    static let summary = "time tensor transfers to a second process: shared memory, ipc, tcp, against memcpy"
    static let usage = "loom bench wire [options]"
    static let options: [Option] = [
        .value("sizes", "S,S,…", "frame sizes, with K/M/G suffixes (binary), multiples of 4 bytes (default 1K,64K,1M,16M,64M,256M)"),
        .value("repeat", "R", "timed samples per size after one warm-up; 10× for ≤ 1M, half for ≥ 256M (default 10)"),
        .value("pings", "N", "round trips per latency figure (default 1000)"),
        .flag("quick", "sizes 64K,64M only (a few seconds)"),
        .flag("json", "print one JSON object instead of the table (release builds only)"),
        .value("dispatch-workers", "N,N,…", "worker counts for the dispatch test (default 1,2,4; 0 skips it)"),
        .value("dispatch-tasks", "N", "echo tasks per dispatch sample (default 10000)"),
        .value("dispatch-slots", "N", "slots (credit) per worker in the dispatch test (default 16)"),
        .value("serve", "IPC,TCP", "internal: run as the peer process the benchmark starts"),
    ]
    static let discussion = """
        The benchmark starts a second copy of this executable (--serve) and times one-way transfers \
        of a float32 tensor to it: from the tensor in this process until the peer acks, after it \
        has consumed the bytes. Paths:
          local       SharedTensorSender copies the tensor into a slot of a pre-faulted memfd (one
                      memcpy); the peer gets the bytes in place (SharedTensorReceiver.bytes), reads
                      one byte per 4 KiB page, then drops the view, which frees the slot.
          local-copy  as local, but the peer copies the slot into a new Tensor (receiver.tensor, a
                      second memcpy) and reads one byte per page of it.
          ipc, tcp    one zero-copy ZeroMQ frame over ipc:// or tcp://127.0.0.1 (the kernel copies
                      it through a socket; libzmq copies it into a message); the peer reads one
                      byte per page of the received frame in place.
        Every peer touches every page it was given, so nothing is timed before the bytes are in \
        its memory, but none reads every byte: what a consumer does with them is its own cost.
        memcpy copies the same bytes into a pre-faulted buffer in this process, the limit for any \
        path that moves the bytes once. GB/s is 10⁹ bytes per second at the median sample. \
        Ping-pong is the median round trip of a 4-byte message. Progress goes to stderr.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        if let endpoints = arguments.string("serve") {
            let parts = endpoints.split(separator: ",").map(String.init)
            guard parts.count == 2 else {
                throw .usage("--serve expects IPC,TCP endpoints, e.g. ipc:///tmp/x.ipc,tcp://127.0.0.1:5555; got '\(endpoints)'")
            }
            do throws(WireError) { try WireBenchmarkPeer.serve(ipcEndpoint: parts[0], tcpEndpoint: parts[1]) } catch {
                throw .failure("bench wire peer: \(error)")
            }
            return
        }
        let wantsJSON = arguments.flag("json")
        if wantsJSON && !Provenance.isRelease {
            throw .usage("--json needs a release build: debug timings are not comparable with anything. Build with 'swift build -c release' (or run 'make bench') and use .build/release/loom")
        }
        let defaultSizes = arguments.flag("quick") ? "64K,64M" : "1K,64K,1M,16M,64M,256M"
        // Every option read before anything runs; the counts bounded, as each sizes an array.
        let configuration = WireBenchmark.Configuration(
            sizes: try sizes(arguments.string("sizes") ?? defaultSizes),
            repeatCount: try arguments.int("repeat", minimum: 1, maximum: 100_000) ?? 10,
            pingCount: try arguments.int("pings", minimum: 1, maximum: 10_000_000) ?? 1000)
        let dispatchWorkers = arguments.string("dispatch-workers") == "0" ? [] : try arguments.intList("dispatch-workers") ?? [1, 2, 4]
        if let many = dispatchWorkers.first(where: { $0 > LocalCluster.maximumWorkers }) {
            throw .usage("--dispatch-workers \(many): give \(LocalCluster.maximumWorkers) or fewer local workers")
        }
        let dispatchSlots = try arguments.int("dispatch-slots", minimum: 1, maximum: 1024) ?? 16
        let dispatchTasks = try arguments.int("dispatch-tasks", minimum: 1, maximum: 1_000_000) ?? 10_000
        Console.progress("bench wire: sizes \(configuration.sizes.map(WireBenchmark.sizeLabel).joined(separator: ", ")), peer process starting …")
        let report = try WireBenchmark.run(configuration) { Console.progress($0) }
        let dispatch = try DispatchBenchmark.run(workerCounts: dispatchWorkers, slots: dispatchSlots, tasks: dispatchTasks, repeats: 3) {
            Console.progress($0)
        }
        Console.output(wantsJSON ? json(configuration, report, dispatch).rendered() : table(configuration, report, dispatch))
    }

    /// Parses `1K,64K,1M` (binary units) into byte counts.
    static func sizes(_ text: String) throws(CommandError) -> [Int] {
        var sizes: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let word = part.trimmingSpaces.uppercased()
            let shift = ["K": 10, "M": 20, "G": 30][word.last.map(String.init) ?? ""] ?? 0
            let digits = shift == 0 ? word : String(word.dropLast())
            guard let value = Int(digits), value >= 1, value <= (1 << 34) >> shift, (value << shift) % 4 == 0 else {
                throw .usage("--sizes expects sizes such as 1K,64K,1M,16M (bytes, multiples of 4, at most 16G); '\(part)' in '\(text)' is not one")
            }
            sizes.append(value << shift)
        }
        return sizes
    }

    /// The GB/s of `path` at 64 MiB, if that size ran.
    private static func at64MiB(_ report: WireBenchmark.Report, _ path: WireBenchmark.Path) -> Double? {
        report.rows.first { $0.bytes == 64 << 20 }?.rates[path]
    }

    private static func header(_ configuration: WireBenchmark.Configuration, _ report: WireBenchmark.Report) -> [(String, String)] {
        [
            ("build", Provenance.build),
            ("commit", Provenance.commit),
            ("host", "\(Provenance.host) (\(Provenance.cpuModel), \(Parallel.activeCores) cores)"),
            ("libzmq", WireInfo.zeroMQVersion),
            ("shared memory", report.sharesMemory ? "yes (peer's HostIdentity matches)" : "no: the peer's HostIdentity differs"),
            ("samples", "1 warm-up discarded, then \(configuration.repeatCount) timed (10× for ≤ 1 MiB, half for ≥ 256 MiB); rates at the median"),
            ("memcpy 64 MiB", String(format: "%.2f GB/s", report.memcpy64MiB)),
            ("ping-pong", String(format: "ipc %.1f µs, tcp %.1f µs (median of %d round trips)",
                                 report.pingMicrosecondsIPC, report.pingMicrosecondsTCP, configuration.pingCount)),
        ]
    }

    private static func table(_ configuration: WireBenchmark.Configuration, _ report: WireBenchmark.Report,
                              _ dispatch: [DispatchBenchmark.Row]) -> String {
        var lines: [String] = []
        let rows = header(configuration, report)
        let width = rows.map(\.0.count).max() ?? 0
        for (name, value) in rows { lines.append(name.padding(width) + "  " + value) }
        if !Provenance.isRelease {
            lines.append("warning: debug build — these timings are not meaningful; run 'make bench'")
        }
        lines.append("")
        let paths = WireBenchmark.Path.allCases
        let columns = ["size", "samples", "memcpy GB/s"] + paths.map { "\($0.rawValue) GB/s" } + ["local vs memcpy"]
        var cells = [columns]
        for row in report.rows {
            let rates = paths.map { path in row.rates[path].map { String(format: "%.2f", $0) } ?? "—" }
            let ratio = row.rates[.local].map { String(format: "%.0f %%", 100 * $0 / row.memcpy) } ?? "—"
            cells.append([WireBenchmark.sizeLabel(row.bytes), String(row.sampleCount), String(format: "%.2f", row.memcpy)] + rates + [ratio])
        }
        let widths = columns.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        for row in cells {
            lines.append(row.indices.map { $0 == 0 ? row[$0].padding(widths[$0]) : row[$0].leftPadding(widths[$0]) }.joined(separator: "  "))
        }
        lines.append("")
        lines.append("one-way transfer to a second process, timed until it acks having read the bytes; see --help")
        if !dispatch.isEmpty {
            lines.append("")
            lines.append("dispatch through the coordinator (echo tasks, submit to last result, median of 3):")
            lines.append("workers  slots   tasks    tasks/s   samples")
            for row in dispatch {
                lines.append(String(row.workers).leftPadding(7) + String(row.slots).leftPadding(7) + String(row.tasks).leftPadding(8)
                             + String(format: "%11.0f", row.tasksPerSecond) + "   "
                             + row.samples.map { String(format: "%.0f", $0) }.joined(separator: ", "))
            }
        }
        lines.append(String(format: "checksum %.9e", report.checksum))
        return lines.joined(separator: "\n")
    }

    private static func json(_ configuration: WireBenchmark.Configuration, _ report: WireBenchmark.Report,
                             _ dispatch: [DispatchBenchmark.Row]) -> JSONValue {
        let rows: [JSONValue] = report.rows.map { row in
            .object([
                ("bytes", .integer(row.bytes)),
                ("samples", .integer(row.sampleCount)),
                ("memcpy_gbps", .number(row.memcpy)),
                ("local_gbps", .number(row.rates[.local])),
                ("local_copy_gbps", .number(row.rates[.localCopy])),
                ("ipc_gbps", .number(row.rates[.ipc])),
                ("tcp_gbps", .number(row.rates[.tcp])),
            ])
        }
        return .object([
            ("benchmark", .string("wire")),
            ("loom_version", .string(Provenance.loomVersion)),
            ("commit", .string(Provenance.commit)),
            ("host", .string(Provenance.host)),
            ("cpu", .string(Provenance.cpuModel)),
            ("build", .string(Provenance.build)),
            ("libzmq", .string(WireInfo.zeroMQVersion)),
            ("repeat", .integer(configuration.repeatCount)),
            ("warmup", .integer(1)),
            ("pings", .integer(configuration.pingCount)),
            ("shares_memory", .bool(report.sharesMemory)),
            ("memcpy_gbps_64mb", .number(report.memcpy64MiB)),
            ("local_gbps_64mb", .number(at64MiB(report, .local))),
            ("local_copy_gbps_64mb", .number(at64MiB(report, .localCopy))),
            ("ipc_gbps_64mb", .number(at64MiB(report, .ipc))),
            ("tcp_gbps_64mb", .number(at64MiB(report, .tcp))),
            ("pingpong_us_ipc", .number(report.pingMicrosecondsIPC)),
            ("pingpong_us_tcp", .number(report.pingMicrosecondsTCP)),
            ("dispatch_tasks_per_s", .object(dispatch.map { (String($0.workers), .number($0.tasksPerSecond)) })),
            ("dispatch_slots", .integer(dispatch.first?.slots ?? 0)),
            ("checksum", .number(report.checksum)),
            ("results", .array(rows)),
        ])
    }
}
