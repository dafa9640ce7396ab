import Foundation
import Testing
import TensorCore
@testable import Wire

/// The same-host path: tensors through a memfd segment, handles checked, nothing left behind.
@Suite struct SharedMemoryTests {
    /// A tensor of `shape` whose elements differ from each other and from zero.
    static func tensor(_ shape: [Int]) throws -> Tensor {
        let count = shape.reduce(1, *)
        return try Tensor(shape: shape, storage: (0..<count).map { Float($0) * 0.5 - 3.25 })
    }

    @Test(arguments: [[0], [1], [3, 5], [1025], [1000, 37], [0, 4], [262_144]])
    func tensorsRoundTripExactly(shape: [Int]) throws {
        let sender = try SharedTensorSender(slotCount: 2, slotBytes: 1 << 20)
        let receiver = SharedTensorReceiver()
        let original = try Self.tensor(shape)
        let handle = try sender.send(original)
        let decoded = try SharedTensorHandle(header: handle.header)
        #expect(decoded == handle)
        #expect(try receiver.tensor(decoded) == original)
        let view = try receiver.bytes(try sender.send(original))
        #expect(view == original.frame)
    }

    @Test func slotsAreReusedOnceReleased() throws {
        let sender = try SharedTensorSender(slotCount: 2, slotBytes: 4096)
        let receiver = SharedTensorReceiver()
        for index in 0..<10 {
            let tensor = try Tensor(repeating: Float(index), shape: [3, 7])
            #expect(try receiver.tensor(try sender.send(tensor)) == tensor)
        }
        #expect(sender.freeSlotCount == 2)
        var first: Data? = try receiver.bytes(try sender.send(Self.tensor([8])))
        let second = try receiver.bytes(try sender.send(Self.tensor([8])))
        #expect(sender.freeSlotCount == 0)
        #expect(throws: WireError.self) { try sender.send(Self.tensor([8]), timeout: .milliseconds(20)) }
        #expect(first?.count == 32 && second.count == 32)
        first = nil  // releasing the view frees its slot without any message
        _ = try sender.send(Self.tensor([8]), timeout: .milliseconds(20))
        #expect(receiver.mappedSegmentCount == 1)
    }

    @Test func tensorLargerThanASlotIsRefused() throws {
        let sender = try SharedTensorSender(slotCount: 1, slotBytes: 4096)
        #expect(throws: WireError.self) { try sender.send(Self.tensor([1025])) }
    }

    /// Expects `body` to throw a `WireError` whose text contains `words`.
    func expectRefusal(_ words: String, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("expected a WireError mentioning '\(words)'")
        } catch {
            #expect("\(error)".contains(words), "\(error)")
        }
    }

    @Test func hostileHandlesThrowNamingTheProblem() throws {
        let sender = try SharedTensorSender(slotCount: 2, slotBytes: 4096)
        let receiver = SharedTensorReceiver()
        let good = try sender.send(Self.tensor([4]))
        var handle = good
        handle.processID = Int32.max
        expectRefusal("cannot open /proc/") { _ = try receiver.tensor(handle) }
        handle = good
        handle.fileDescriptor = 0  // stdin: not a memfd
        expectRefusal("not a size-sealed memfd") { _ = try receiver.tensor(handle) }
        handle = good
        handle.token ^= 1
        expectRefusal("token") { _ = try receiver.tensor(handle) }
        handle = good
        handle.slot = 2
        expectRefusal("slot 2 does not exist") { _ = try receiver.tensor(handle) }
        handle = good
        handle.offset = 4090
        expectRefusal("outside slot") { _ = try receiver.tensor(handle) }
        handle = good
        handle.offset = Int.max
        expectRefusal("outside slot") { _ = try receiver.tensor(handle) }
        handle = good
        handle.shape = [5]
        expectRefusal("claims 16 bytes") { _ = try receiver.tensor(handle) }
        handle = good
        handle.generation += 1
        expectRefusal("does not hold generation") { _ = try receiver.tensor(handle) }
        #expect(try receiver.tensor(good) == Self.tensor([4]))
        expectRefusal("already used or is stale") { _ = try receiver.tensor(good) }
        expectRefusal("header ends") { _ = try SharedTensorHandle(header: good.header.prefix(10)) }
        handle = good
        handle.shape = [Int.max, 4]
        handle.byteCount = 16
        expectRefusal("overflows") { _ = try SharedTensorHandle(header: handle.header) }
    }

    /// The inode of the file behind `path` (a memfd seen through /proc).
    static func inode(_ path: String) -> UInt64? {
        var status = stat()
        return stat(path, &status) == 0 ? UInt64(status.st_ino) : nil
    }

    /// Whether this process still has the memfd with `inode` open or mapped. Other tests run in
    /// parallel, so counting descriptors or mappings would not do: this looks for this one file.
    static func holdsSegment(inode: UInt64) throws -> Bool {
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        if descriptors.contains(where: { Self.inode("/proc/self/fd/\($0)") == inode }) { return true }
        let maps = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/maps")).readToEnd() ?? Data()
        return String(decoding: maps, as: UTF8.self).split(separator: "\n").contains { line in
            line.contains("memfd:loom-tensors") && line.split(separator: " ", omittingEmptySubsequences: true)[4] == "\(inode)"
        }
    }

    /// A memfd has no name in /dev/shm: a real child that opens it through /proc and is then
    /// killed with SIGKILL leaves nothing behind, and the segment vanishes from this process once
    /// sender, receiver and views are released (the kernel frees it with the last mapping).
    @Test func segmentsLeaveNothingBehindWhenProcessesDie() throws {
        let shmBefore = try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").sorted()
        var segmentInode: UInt64 = 0
        do {
            let sender = try SharedTensorSender(slotCount: 1, slotBytes: 4096)
            let handle = try sender.send(Self.tensor([2]))
            let path = "/proc/\(handle.processID)/fd/\(handle.fileDescriptor)"
            segmentInode = try #require(Self.inode(path))

            // Another process opens the segment through /proc and reads its magic.
            let head = Process()
            head.executableURL = URL(fileURLWithPath: "/usr/bin/head")
            head.arguments = ["-c", "8", path]
            let pipe = Pipe()
            head.standardOutput = pipe
            try head.run()
            head.waitUntilExit()
            #expect(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "LOOMSHM1")

            // A child holding the segment is killed with SIGKILL.
            let holder = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            let sleeper = Process()
            sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
            sleeper.arguments = ["30"]
            sleeper.standardInput = holder
            try sleeper.run()
            defer { if sleeper.isRunning { kill(sleeper.processIdentifier, SIGKILL) } }
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(sleeper.processIdentifier)/fd/0")
            #expect(link.hasPrefix("/memfd:loom-tensors"), "\(link)")
            kill(sleeper.processIdentifier, SIGKILL)
            sleeper.waitUntilExit()
            #expect(sleeper.terminationReason == .uncaughtSignal)
            try holder.close()

            let receiver = SharedTensorReceiver()
            let view = try receiver.bytes(handle)
            #expect(view.count == 8)
            #expect(try Self.holdsSegment(inode: segmentInode))
        }
        #expect(try !Self.holdsSegment(inode: segmentInode))
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev/shm").sorted() == shmBefore)
    }

    @Test func hostIdentityComparesEqualOnlyWhenKnown() {
        let here = HostIdentity.current
        #expect(here.sharesMemory(with: HostIdentity(here.text)))
        #expect(!here.sharesMemory(with: HostIdentity(here.text + "x")))
        #expect(!HostIdentity("").sharesMemory(with: HostIdentity("")))
        #expect(here.text.contains("boot="))
    }
}
