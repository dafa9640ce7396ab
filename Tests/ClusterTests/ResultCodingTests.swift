import Cluster
import Foundation
import Testing
import Wire
import Tasks

/// Results carry stepped metrics (training curves) through the wire intact, and a hostile
/// count of them is refused, not allocated.
@Suite struct ResultCodingTests {
    /// A registration's name and host reach logs and `loom status`: a newline or an escape in
    /// them would forge a log line or move the terminal, so they arrive as U+FFFD.
    @Test func aRegistrationsNameCannotCarryControlCharacters() throws {
        let info = WorkerInfo(name: "w\n12:00:00 [coordinator] all good\u{1B}[2J", host: "h\r", hostID: "i", pid: 1, cores: 1, slots: 1,
                              version: "0", kinds: ["echo"])
        guard case let .register(decoded) = try ClusterMessage(ClusterMessage.register(info).message) else {
            Issue.record("not a register")
            return
        }
        #expect(decoded.name == "w\u{FFFD}12:00:00 [coordinator] all good\u{FFFD}[2J" && decoded.host == "h\u{FFFD}", "\(decoded.name.debugDescription)")
    }

    @Test func aResultWithACurveRoundTrips() throws {
        var series: [StepMetric] = []
        for i in 0..<300 {
            let name = i % 2 == 0 ? "loss" : "attn_sink"
            series.append(StepMetric(name: name, step: i * 10, value: 1 / Double(i + 1)))
        }
        let result = TaskResult(taskID: 7, attempt: 2, succeeded: true, metrics: ["final": .double(0.5)], artifacts: ["a.npy"],
                                error: "", seconds: 1.5, worker: "w", series: series)
        let encoded: Message = ClusterMessage.result(result).message
        let decoded = try ClusterMessage(encoded)
        guard case let .result(back) = decoded else { Issue.record("decoded as \(decoded.command)"); return }
        #expect(back.series == series && back.metrics == result.metrics && back.attempt == 2 && back.artifacts == ["a.npy"])
    }

    /// A task's carry flag and a submission's client host travel last, so a message from an
    /// older sender (without them) still decodes: no carrying asked, no client host known.
    @Test func theCarryFlagAndTheClientHostRoundTripAndMayBeAbsent() throws {
        let task = ClusterMessage.task(taskID: 9, attempt: 2, kind: "artifact", params: ["path": .string("a.bin")], gang: nil, carryFiles: true)
        guard case let .task(_, _, _, _, _, carry) = try ClusterMessage(task.message) else { Issue.record("not a task"); return }
        #expect(carry)
        var older = [UInt8](task.message.header)
        older.removeLast()   // the flag: one byte
        guard case let .task(id, _, _, params, _, carried) = try ClusterMessage(Message(task.message.command, header: Data(older))) else {
            Issue.record("an older task message did not decode"); return
        }
        #expect(id == 9 && params["path"] == .string("a.bin") && !carried)

        let submit = ClusterMessage.submit(kind: "echo", params: [:], count: 2, gang: 0, maxAttempts: 1, timeoutMilliseconds: 0,
                                           clientHost: "boot=b;host=laptop")
        guard case let .submit(_, _, count, _, _, _, host) = try ClusterMessage(submit.message) else { Issue.record("not a submit"); return }
        #expect(count == 2 && host == "boot=b;host=laptop")
        var before = [UInt8](submit.message.header)
        before.removeLast(4 + "boot=b;host=laptop".utf8.count)   // the string: a 4-byte length, then its bytes
        guard case let .submit(_, _, _, _, _, _, none) = try ClusterMessage(Message(submit.message.command, header: Data(before))) else {
            Issue.record("an older submission did not decode"); return
        }
        #expect(none.isEmpty)
        before.removeLast(2)   // cut into the timeout: malformed, not misread
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(submit.message.command, header: Data(before))) }
    }

    @Test func aTruncatedOrInflatedCurveIsMalformed() throws {
        let result = TaskResult(taskID: 1, attempt: 1, succeeded: true, metrics: [:], artifacts: [], error: "", seconds: 0,
                                worker: "", series: [StepMetric(name: "loss", step: 1, value: 2)])
        let message = ClusterMessage.result(result).message
        var header = [UInt8](message.header)
        header.removeLast(3)
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(header))) }
        // The count of points, 1, sits 20 + 4 bytes before the count of carried files (4 bytes, last):
        // "loss" is 4 + 4 bytes, step 8, value 8.
        var inflated = [UInt8](message.header)
        inflated[inflated.count - 32] = 0xFF
        inflated[inflated.count - 31] = 0xFF
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(inflated))) }
    }

    /// Artifact files carried in a result arrive byte for byte; an inflated count or length is
    /// refused before anything is allocated.
    @Test func carriedFilesRoundTripAndInflatedOnesAreMalformed() throws {
        let contents = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var result = TaskResult(taskID: 3, attempt: 1, succeeded: true, metrics: [:], artifacts: ["/x/a.bin", "/x/dir"],
                                error: "", seconds: 0, worker: "w")
        result.files = [CarriedFile(path: "/x/a.bin", contents: contents), CarriedFile(path: "/x/empty", contents: Data())]
        let message = ClusterMessage.result(result).message
        guard case let .result(back) = try ClusterMessage(message) else { Issue.record("not a result"); return }
        #expect(back.files == result.files && back.artifacts == result.artifacts)
        // The count of files: 2, just after the (empty) curve's count.
        var header = [UInt8](message.header)
        let countAt = header.count - (4 + 8 + 4 + 5000) - (4 + 8 + 4) - 4
        #expect(header[countAt] == 2)
        header[countAt] = 0xFF; header[countAt + 1] = 0xFF; header[countAt + 2] = 0xFF
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(header))) }
        var truncated = [UInt8](message.header)
        truncated.removeLast(100)
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(truncated))) }
    }

    @Test func onlyRegularFilesWithinTheBudgetAreCarried() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-carry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let small = directory.appendingPathComponent("small.bin"), big = directory.appendingPathComponent("big.bin")
        try Data(repeating: 1, count: 100).write(to: small)
        try Data(repeating: 2, count: 300).write(to: big)
        let read = CarriedFile.read([small.path, directory.appendingPathComponent("sub").path, big.path, "/no/such/file"], budget: 350)
        #expect(read == [CarriedFile(path: small.path, contents: Data(repeating: 1, count: 100))])
    }

    @Test func progressRoundTripsAndATruncatedOneIsMalformed() throws {
        let points = [StepMetric(name: "loss", step: 50, value: 3.25), StepMetric(name: "L0.H0.attn_sink", step: 50, value: 0.5)]
        let message = ClusterMessage.progress(taskID: 9, attempt: 3, points: points, total: 3000).message
        guard case let .progress(taskID, attempt, back, total) = try ClusterMessage(message) else {
            Issue.record("did not decode as progress"); return
        }
        #expect(taskID == 9 && attempt == 3 && back == points && total == 3000)
        var header = [UInt8](message.header)
        header.removeLast(1)
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(header))) }
        var negative = ClusterMessage.progress(taskID: 9, attempt: 3, points: [], total: 0).message
        var bytes = [UInt8](negative.header)
        bytes[16 + 7] = 0x80                                   // total's sign bit (after task id and attempt)
        negative = Message(negative.command, header: Data(bytes))
        #expect(throws: WireError.self) { _ = try ClusterMessage(negative) }
    }

    /// `events` carries every kind of attempt event; an unknown kind, a truncated message and an
    /// inflated count are refused.
    @Test func attemptEventsRoundTripAndBadOnesAreMalformed() throws {
        let events = [
            AttemptEvent(taskID: 4, attempt: 1, kind: .started(workers: ["w1", "w2"])),
            AttemptEvent(taskID: 4, attempt: 1, kind: .lost(reason: "worker w1 went silent")),
            AttemptEvent(taskID: 4, attempt: 2, kind: .progress(points: [StepMetric(name: "loss", step: 10, value: 2.5)], total: 100)),
            AttemptEvent(taskID: 5, attempt: 3, kind: .failed(reason: "boom")),
        ]
        let message = ClusterMessage.events(events).message
        guard case let .events(back) = try ClusterMessage(message) else { Issue.record("did not decode as events"); return }
        #expect(back == events)
        guard case .eventsRequest = try ClusterMessage(ClusterMessage.eventsRequest.message) else {
            Issue.record("did not decode as events?"); return
        }
        var truncated = [UInt8](message.header)
        truncated.removeLast(1)
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(truncated))) }
        // The first event's kind byte sits after the count (4), task id (8) and attempt (8).
        var unknown = [UInt8](message.header)
        unknown[20] = 9
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(unknown))) }
        var inflated = [UInt8](message.header)
        inflated[0] = 0xFF; inflated[1] = 0xFF; inflated[2] = 0xFF
        #expect(throws: WireError.self) { _ = try ClusterMessage(Message(message.command, header: Data(inflated))) }
    }
}
