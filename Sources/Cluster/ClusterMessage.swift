import Foundation
import Wire
import Tasks

/// What a worker says about itself when it registers.
public struct WorkerInfo: Sendable {
    public var name: String
    public var host: String
    /// Identifies the machine (boot id), so peers can tell they share a host.
    public var hostID: String
    public var pid: Int
    public var cores: Int
    public var slots: Int
    public var version: String
    public var kinds: [String]
    /// The worker's CURVE public key (Z85), or empty without CURVE: gang peers admit each other by it.
    public var publicKey: String
    /// Where a batch scheduler placed it, as `KEY=VALUE` (Slurm's job, step, task and node),
    /// recorded with the worker in the store; empty outside a scheduler.
    public var scheduler: [String]
    /// What the worker computes on, as `KEY=VALUE` (`cpu`, `tile`: the register tile it chose,
    /// `simd`: the build's vector target), recorded with it in the store: in a cluster of mixed
    /// nodes the results agree bit for bit, but their timings belong to the machine.
    public var machine: [String]

    /// The most scheduler entries a registration may carry, and the longest one.
    public static let schedulerLimits = (entries: 32, bytes: 1024)
    /// The most machine entries, and the longest one.
    public static let machineLimits = (entries: 16, bytes: 256)

    public init(name: String, host: String, hostID: String, pid: Int, cores: Int, slots: Int, version: String,
                kinds: [String], publicKey: String = "", scheduler: [String] = [], machine: [String] = []) {
        self.name = name; self.host = host; self.hostID = hostID; self.pid = pid; self.cores = cores
        self.slots = slots; self.version = version; self.kinds = kinds; self.publicKey = publicKey; self.scheduler = scheduler
        self.machine = machine
    }
}

/// A task's place in a gang: its rank and the gang's size.
public struct GangSlot: Sendable, Equatable {
    public var rank: Int
    public var size: Int
    /// Every rank's CURVE public key (empty strings without CURVE), known before anyone binds, so
    /// each rank's peer socket admits exactly its gang from the first handshake.
    public var keys: [String]
}

/// A finished task as reported by a worker (or by the coordinator to a client).
public struct TaskResult: Sendable {
    public var taskID: UInt64
    public var attempt: Int
    public var succeeded: Bool
    public var metrics: [String: ParameterValue]
    public var artifacts: [String]
    /// Why it failed; empty on success.
    public var error: String
    public var seconds: Double
    /// The worker that ran it (filled in by the coordinator).
    public var worker: String
    /// Stepped metrics (training curves), in the order measured.
    public var series: [StepMetric] = []
    /// The artifact files themselves, read by a worker that is not on the coordinator's machine
    /// (so the store gets them without a shared filesystem); empty otherwise.
    public var files: [CarriedFile] = []

    public init(taskID: UInt64, attempt: Int, succeeded: Bool, metrics: [String: ParameterValue], artifacts: [String],
                error: String, seconds: Double, worker: String, series: [StepMetric] = []) {
        self.taskID = taskID; self.attempt = attempt; self.succeeded = succeeded; self.metrics = metrics
        self.artifacts = artifacts; self.error = error; self.seconds = seconds; self.worker = worker; self.series = series
    }
}

/// Every message of the cluster protocol (docs/wire.md), decoded from and encoded to `Message`.
public enum ClusterMessage: Sendable {
    /// The longest attempt timeout a submission may ask for: 30 days.
    public static let longestTimeoutMilliseconds = 30 * 24 * 3600 * 1000

    // worker → coordinator
    case register(WorkerInfo)
    case heartbeat
    case result(TaskResult)
    /// Stepped metrics a running attempt measured since its last report; `total` is the last
    /// step it expects (0: unknown).
    case progress(taskID: UInt64, attempt: Int, points: [StepMetric], total: Int)
    case gangBound(taskID: UInt64, attempt: Int, endpoint: String, host: String)
    case drain
    case handBack(taskID: UInt64, attempt: Int)
    case bye
    // coordinator → worker
    /// `coordinatorHost` is the coordinator's `HostIdentity`: a worker on another machine carries
    /// its artifact files in its results.
    case welcome(workerID: Int, heartbeatMilliseconds: Int, liveness: Int, coordinatorHost: String)
    /// `carryFiles`: the task's client is on another machine than this worker, so the result
    /// carries its artifact files whatever the coordinator's host (absent from older senders: false).
    case task(taskID: UInt64, attempt: Int, kind: String, params: [String: ParameterValue], gang: GangSlot?, carryFiles: Bool)
    case gangStart(taskID: UInt64, attempt: Int, endpoints: [String], hosts: [String])
    case cancel(taskID: UInt64, attempt: Int, reason: String)
    case reregister
    case refused(String)
    // client ↔ coordinator
    /// `timeoutMilliseconds`: an attempt running longer fails; 0 leaves the coordinator's lease.
    /// `clientHost`: the submitting client's host identity (absent from older clients: empty).
    case submit(kind: String, params: [String: ParameterValue], count: Int, gang: Int, maxAttempts: Int, timeoutMilliseconds: Int,
                clientHost: String)
    case submitted([UInt64])
    case statusRequest
    case status(json: String)
    case resultsRequest([UInt64])
    case results([TaskResult])
    /// The attempt events (starts, losses, failures, streamed progress) of the tasks this client
    /// submitted, since it last asked.
    case eventsRequest
    case events([AttemptEvent])
    case error(String)

    /// The command word on the wire.
    public var command: String {
        switch self {
        case .register: "register"
        case .heartbeat: "heartbeat"
        case .result: "result"
        case .progress: "progress"
        case .gangBound: "gang.bound"
        case .drain: "drain"
        case .handBack: "handback"
        case .bye: "bye"
        case .welcome: "welcome"
        case .task: "task"
        case .gangStart: "gang.start"
        case .cancel: "cancel"
        case .reregister: "reregister"
        case .refused: "refused"
        case .submit: "submit"
        case .submitted: "submitted"
        case .statusRequest: "status?"
        case .status: "status"
        case .resultsRequest: "results?"
        case .results: "results"
        case .eventsRequest: "events?"
        case .events: "events"
        case .error: "error"
        }
    }

    /// The message as a `Message` ready to send.
    public var message: Message {
        var w = ByteWriter()
        switch self {
        case let .register(info):
            w.write(info.name); w.write(info.host); w.write(info.hostID); w.write(info.pid)
            w.write(info.cores); w.write(info.slots); w.write(info.version); w.write(info.kinds); w.write(info.publicKey)
            w.write(info.scheduler); w.write(info.machine)
        case .heartbeat, .drain, .bye, .reregister, .statusRequest, .eventsRequest: break
        case let .result(result): result.write(to: &w)
        case let .progress(taskID, attempt, points, total):
            w.write(taskID); w.write(attempt); w.write(total)
            StepMetric.write(points, to: &w)
        case let .gangBound(taskID, attempt, endpoint, host):
            w.write(taskID); w.write(attempt); w.write(endpoint); w.write(host)
        case let .handBack(taskID, attempt): w.write(taskID); w.write(attempt)
        case let .welcome(workerID, heartbeat, liveness, host): w.write(workerID); w.write(heartbeat); w.write(liveness); w.write(host)
        case let .task(taskID, attempt, kind, params, gang, carryFiles):
            w.write(taskID); w.write(attempt); w.write(kind); w.write(params)
            w.write(gang != nil)
            if let gang { w.write(gang.rank); w.write(gang.size); w.write(gang.keys) }
            w.write(carryFiles)
        case let .gangStart(taskID, attempt, endpoints, hosts):
            w.write(taskID); w.write(attempt); w.write(endpoints); w.write(hosts)
        case let .cancel(taskID, attempt, reason): w.write(taskID); w.write(attempt); w.write(reason)
        case let .refused(text), let .status(text), let .error(text): w.write(text)
        case let .submit(kind, params, count, gang, maxAttempts, timeout, clientHost):
            w.write(kind); w.write(params); w.write(count); w.write(gang); w.write(maxAttempts); w.write(timeout); w.write(clientHost)
        case let .submitted(ids), let .resultsRequest(ids):
            w.write(UInt32(ids.count))
            for id in ids { w.write(id) }
        case let .results(results):
            w.write(UInt32(results.count))
            for result in results { result.write(to: &w) }
        case let .events(events):
            w.write(UInt32(events.count))
            for event in events { event.write(to: &w) }
        }
        return Message(command, header: w.data)
    }

    /// Decodes `message`.
    /// - Throws: `WireError.malformed` for an unknown command, a header that does not decode, or
    ///   trailing bytes.
    public init(_ message: Message) throws(WireError) {
        var r = ByteReader(message.header)
        let command = message.command
        switch command {
        case "register":
            self = .register(WorkerInfo(
                name: WorkerInfo.printable(try r.readString("name")), host: WorkerInfo.printable(try r.readString("host")),
                hostID: try r.readString("host id"),
                pid: try r.readInt("pid", in: 0...Int(Int32.max)), cores: try r.readInt("cores", in: 1...65536),
                slots: try r.readInt("slots", in: 1...4096), version: try r.readString("version"),
                kinds: try r.readStrings("kinds"), publicKey: try r.readString("public key"),
                scheduler: try WorkerInfo.readEntries(from: &r, "scheduler", limits: WorkerInfo.schedulerLimits),
                machine: try WorkerInfo.readEntries(from: &r, "machine", limits: WorkerInfo.machineLimits)))
        case "heartbeat": self = .heartbeat
        case "result": self = .result(try TaskResult.read(from: &r))
        case "progress":
            let taskID = try r.readUInt64("task id"), attempt = try r.readInt("attempt", in: 1...1_000_000)
            let total = try r.readInt("total steps", in: 0...Int(Int32.max))
            self = .progress(taskID: taskID, attempt: attempt, points: try StepMetric.read(from: &r), total: total)
        case "gang.bound":
            self = .gangBound(taskID: try r.readUInt64("task id"), attempt: try r.readInt("attempt", in: 1...1_000_000),
                              endpoint: try r.readString("endpoint"), host: try r.readString("host identity"))
        case "drain": self = .drain
        case "handback": self = .handBack(taskID: try r.readUInt64("task id"), attempt: try r.readInt("attempt", in: 1...1_000_000))
        case "bye": self = .bye
        case "welcome":
            self = .welcome(workerID: try r.readInt("worker id", in: 0...Int(Int32.max)),
                            heartbeatMilliseconds: try r.readInt("heartbeat", in: 1...3_600_000),
                            liveness: try r.readInt("liveness", in: 1...1000),
                            coordinatorHost: r.isAtEnd ? "" : try r.readString("coordinator host"))
        case "task":
            let taskID = try r.readUInt64("task id"), attempt = try r.readInt("attempt", in: 1...1_000_000)
            let kind = try r.readString("kind"), params = try r.readValues("params")
            var gang: GangSlot?
            if try r.readBool("gang flag") {
                let rank = try r.readInt("rank", in: 0...65535), size = try r.readInt("gang size", in: 1...65536)
                guard rank < size else { throw .malformed("rank \(rank) is not below gang size \(size)") }
                let keys = try r.readStrings("gang keys")
                guard keys.count == size else { throw .malformed("\(keys.count) gang keys for a gang of \(size)") }
                gang = GangSlot(rank: rank, size: size, keys: keys)
            }
            self = .task(taskID: taskID, attempt: attempt, kind: kind, params: params, gang: gang,
                         carryFiles: r.isAtEnd ? false : try r.readBool("carry files"))
        case "gang.start":
            self = .gangStart(taskID: try r.readUInt64("task id"), attempt: try r.readInt("attempt", in: 1...1_000_000),
                              endpoints: try r.readStrings("endpoints"), hosts: try r.readStrings("host identities"))
        case "cancel":
            self = .cancel(taskID: try r.readUInt64("task id"), attempt: try r.readInt("attempt", in: 1...1_000_000),
                           reason: try r.readString("reason"))
        case "reregister": self = .reregister
        case "refused": self = .refused(try r.readString("reason"))
        case "submit":
            self = .submit(kind: try r.readString("kind"), params: try r.readValues("params"),
                           count: try r.readInt("count", in: 1...1_000_000), gang: try r.readInt("gang", in: 0...65536),
                           maxAttempts: try r.readInt("max attempts", in: 1...1000),
                           timeoutMilliseconds: try r.readInt("attempt timeout (ms)", in: 0...ClusterMessage.longestTimeoutMilliseconds),
                           clientHost: r.isAtEnd ? "" : try r.readString("client host"))
        case "submitted", "results?":
            let count = try r.readCount("number of ids", minimumItemBytes: 8)
            var ids: [UInt64] = []
            for _ in 0..<count { ids.append(try r.readUInt64("task id")) }
            self = command == "submitted" ? .submitted(ids) : .resultsRequest(ids)
        case "status?": self = .statusRequest
        case "status": self = .status(json: try r.readString("status"))
        case "results":
            let count = try r.readCount("number of results", minimumItemBytes: 8)
            var results: [TaskResult] = []
            for _ in 0..<count { results.append(try TaskResult.read(from: &r)) }
            self = .results(results)
        case "events?": self = .eventsRequest
        case "events":
            // Each event is at least a task id, an attempt and a kind: 17 bytes.
            let count = try r.readCount("number of attempt events", minimumItemBytes: 17)
            var events: [AttemptEvent] = []
            for _ in 0..<count { events.append(try AttemptEvent.read(from: &r)) }
            self = .events(events)
        case "error": self = .error(try r.readString("error"))
        default:
            throw .malformed("unknown command '\(command)'")
        }
        try r.finish("'\(command)'")
    }
}

extension TaskResult {
    func write(to w: inout ByteWriter) {
        w.write(taskID); w.write(attempt); w.write(succeeded); w.write(metrics); w.write(artifacts)
        w.write(error); w.write(seconds); w.write(worker)
        StepMetric.write(series, to: &w)
        w.write(UInt32(files.count))
        for file in files { w.write(file.path); w.write(bytes: file.contents) }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> TaskResult {
        var result = TaskResult(taskID: try r.readUInt64("task id"), attempt: try r.readInt("attempt", in: 1...1_000_000),
                                succeeded: try r.readBool("succeeded"), metrics: try r.readValues("metrics"),
                                artifacts: try r.readStrings("artifacts"), error: try r.readString("error"),
                                seconds: try r.readDouble("seconds"), worker: try r.readString("worker"))
        result.series = try StepMetric.read(from: &r)
        let count = try r.readCount("number of carried files", minimumItemBytes: 8)
        for _ in 0..<count {
            result.files.append(CarriedFile(path: try r.readString("a carried file's path"), contents: try r.readBytes("a carried file")))
        }
        return result
    }
}

extension AttemptEvent {
    func write(to w: inout ByteWriter) {
        w.write(taskID); w.write(attempt)
        switch kind {
        case let .started(workers): w.write(UInt8(0)); w.write(workers)
        case let .lost(reason): w.write(UInt8(1)); w.write(reason)
        case let .failed(reason): w.write(UInt8(2)); w.write(reason)
        case let .progress(points, total): w.write(UInt8(3)); w.write(total); StepMetric.write(points, to: &w)
        }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> AttemptEvent {
        let taskID = try r.readUInt64("task id"), attempt = try r.readInt("attempt", in: 1...1_000_000)
        let kind: Kind
        switch try r.readUInt8("event kind") {
        case 0: kind = .started(workers: try r.readStrings("workers"))
        case 1: kind = .lost(reason: try r.readString("reason"))
        case 2: kind = .failed(reason: try r.readString("reason"))
        case 3:
            let total = try r.readInt("total steps", in: 0...Int(Int32.max))
            kind = .progress(points: try StepMetric.read(from: &r), total: total)
        case let other: throw .malformed("attempt event kind \(other) is not 0…3 (started, lost, failed, progress)")
        }
        return AttemptEvent(taskID: taskID, attempt: attempt, kind: kind)
    }
}

extension StepMetric {
    static func write(_ points: [StepMetric], to w: inout ByteWriter) {
        w.write(UInt32(points.count))
        for point in points { w.write(point.name); w.write(point.step); w.write(point.value) }
    }

    static func read(from r: inout ByteReader) throws(WireError) -> [StepMetric] {
        // Each point is at least a name length, a step and a value: 20 bytes.
        let count = try r.readCount("number of stepped metrics", minimumItemBytes: 20)
        var points: [StepMetric] = []
        points.reserveCapacity(count)
        for _ in 0..<count {
            points.append(StepMetric(name: try r.readString("metric name"), step: try r.readInt("step"),
                                     value: try r.readDouble("metric value")))
        }
        return points
    }
}

extension WorkerInfo {
    /// A peer's text as the logs and `loom status` print it: control characters (a newline, an
    /// escape sequence) become U+FFFD, so a registration cannot forge log lines or move a terminal.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { $0.properties.generalCategory == .control ? "\u{FFFD}" : $0 }))
    }

    /// A list of `KEY=VALUE` entries (the scheduler's, the machine's), bounded: a registration
    /// from an older worker has none.
    static func readEntries(from reader: inout ByteReader, _ what: String,
                            limits: (entries: Int, bytes: Int)) throws(WireError) -> [String] {
        guard !reader.isAtEnd else { return [] }
        let entries = try reader.readStrings("\(what) entries")
        guard entries.count <= limits.entries,
              entries.allSatisfy({ $0.utf8.count <= limits.bytes && $0.contains("=") }) else {
            throw .malformed("a registration carries \(entries.count) \(what) entries; at most \(limits.entries) "
                             + "KEY=VALUE entries of \(limits.bytes) bytes are accepted")
        }
        return entries
    }
}

/// An artifact file carried in a result: the path the task reported, and its bytes.
public struct CarriedFile: Sendable, Equatable {
    public var path: String
    public var contents: Data

    public init(path: String, contents: Data) {
        self.path = path
        self.contents = contents
    }

    /// The most one result carries: what a control message holds, less room for its metrics and
    /// curve. Files past it, and directories, reach the store only through a shared filesystem.
    public static let budget = 48 << 20

    /// Reads the regular files among `paths`, in order, while their total stays within `budget`.
    public static func read(_ paths: [String], budget: Int = CarriedFile.budget) -> [CarriedFile] {
        var files: [CarriedFile] = []
        var total = 0
        for path in paths {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  attributes[.type] as? FileAttributeType == .typeRegular,
                  let size = attributes[.size] as? Int, total + size <= budget,
                  let contents = FileManager.default.contents(atPath: path), contents.count == size else { continue }
            total += size
            files.append(CarriedFile(path: path, contents: contents))
        }
        return files
    }
}

