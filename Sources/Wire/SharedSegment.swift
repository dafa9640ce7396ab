import Foundation
internal import CSystem

/// One memfd shared between a sender and its receivers: a header, one control record per slot,
/// and page-aligned slots that carry tensor bytes.
///
/// Layout (little-endian, offsets in bytes): 0 magic `LOOMSHM1`, 8 token, 16 slot count, 24 slot
/// size, 32 offset of slot 0; from 64, one 64-byte control record per slot (a cache line each, so
/// two processes flipping neighbouring flags do not share a line) holding the state (`UInt32`,
/// 0 free, 1 full) at +0 and the generation (`UInt64`) at +8. Only the sender sets a slot full;
/// only a receiver sets it free again, so no release message is needed.
///
/// A memfd has no name in /dev/shm or anywhere else: the kernel frees its pages when the last
/// descriptor and the last mapping are gone, so nothing is left behind when either side dies,
/// even by SIGKILL. The sender seals its size, so a mapping can never fault with SIGBUS.
///
/// `@unchecked Sendable`: the fields are immutable after init and the shared words are only
/// touched through the C11 atomics in CSystem.
final class SharedSegment: @unchecked Sendable {
    /// The first eight bytes of every segment.
    static let magic: UInt64 = 0x314D_4853_4D4F_4F4C  // "LOOMSHM1" read little-endian
    static let controlOffset = 64
    static let controlStride = 64
    /// The largest segment a receiver maps for a peer: 64 GiB.
    static let maximumLength = 1 << 36

    /// The sender's descriptor (peers open it through /proc), or -1 in a receiver, which closes
    /// its own right after mapping: the mapping alone keeps the memory.
    let fileDescriptor: Int32
    let base: UnsafeMutableRawPointer
    let length: Int
    /// A random number that tells this segment from a later one at the same pid and descriptor.
    let token: UInt64
    let slotCount: Int
    /// Bytes per slot, a multiple of the page size.
    let slotBytes: Int
    let dataOffset: Int

    private init(fileDescriptor: Int32, base: UnsafeMutableRawPointer, length: Int, token: UInt64,
                 slotCount: Int, slotBytes: Int, dataOffset: Int) {
        self.fileDescriptor = fileDescriptor
        self.base = base
        self.length = length
        self.token = token
        self.slotCount = slotCount
        self.slotBytes = slotBytes
        self.dataOffset = dataOffset
    }

    deinit {
        munmap(base, length)
        if fileDescriptor >= 0 { close(fileDescriptor) }
    }

    static var pageSize: Int { Int(sysconf(Int32(_SC_PAGESIZE))) }

    private static func roundedUp(_ value: Int, to multiple: Int) -> Int {
        (value + multiple - 1) / multiple * multiple
    }

    /// Creates, sizes, seals and maps a new segment, with every page faulted in now so that
    /// sends never pay for page faults.
    /// - Precondition: `slotCount ≥ 1`, `slotBytes ≥ 1`.
    /// - Throws: `WireError.sharedMemory` naming the failed call and errno text (out of memory,
    ///   out of descriptors).
    static func create(slotCount: Int, slotBytes: Int) throws(WireError) -> SharedSegment {
        precondition(slotCount >= 1 && slotBytes >= 1, "a shared segment needs at least one slot of at least one byte")
        let page = pageSize
        let slotBytes = roundedUp(slotBytes, to: page)
        let dataOffset = roundedUp(controlOffset + controlStride * slotCount, to: page)
        let (slotsLength, overflow) = slotBytes.multipliedReportingOverflow(by: slotCount)
        guard !overflow, slotsLength <= maximumLength - dataOffset else {
            throw .sharedMemory("\(slotCount) slots of \(slotBytes) bytes exceed the \(maximumLength >> 30) GiB limit of one segment; use fewer or smaller slots")
        }
        let length = dataOffset + slotsLength
        let fd = loom_memfd_create("loom-tensors")
        guard fd >= 0 else { throw lastError("memfd_create") }
        guard ftruncate(fd, off_t(length)) == 0 else {
            let error = lastError("ftruncate(memfd, \(length))")
            close(fd)
            throw error
        }
        guard loom_seal_size(fd) == 0 else {
            let error = lastError("fcntl(memfd, F_ADD_SEALS)")
            close(fd)
            throw error
        }
        let base: UnsafeMutableRawPointer
        do throws(WireError) { base = try map(fd, length: length) } catch {
            close(fd)
            throw error
        }
        var token: UInt64 = 0
        while token == 0 { token = UInt64.random(in: .min ... .max) }
        base.storeBytes(of: token.littleEndian, toByteOffset: 8, as: UInt64.self)
        base.storeBytes(of: UInt64(slotCount).littleEndian, toByteOffset: 16, as: UInt64.self)
        base.storeBytes(of: UInt64(slotBytes).littleEndian, toByteOffset: 24, as: UInt64.self)
        base.storeBytes(of: UInt64(dataOffset).littleEndian, toByteOffset: 32, as: UInt64.self)
        base.storeBytes(of: magic.littleEndian, toByteOffset: 0, as: UInt64.self)
        return SharedSegment(fileDescriptor: fd, base: base, length: length, token: token,
                             slotCount: slotCount, slotBytes: slotBytes, dataOffset: dataOffset)
    }

    /// Maps the segment that descriptor `fd` of process `processID` holds, through
    /// `/proc/<pid>/fd/<fd>` (same user, same pid namespace), and checks that it is a Loom segment
    /// with `token` whose header fits its size.
    /// - Throws: `WireError.sharedMemory` saying what is wrong: the process or descriptor is gone
    ///   or not accessible, the file is not a sealed memfd, the header does not match.
    static func open(processID: Int32, fileDescriptor: Int32, token: UInt64) throws(WireError) -> SharedSegment {
        let path = "/proc/\(processID)/fd/\(fileDescriptor)"
        guard processID > 0, fileDescriptor >= 0 else {
            throw .sharedMemory("segment \(path) names no process or descriptor; the handle is corrupt")
        }
        let fd = loom_open_read_write(path)
        guard fd >= 0 else {
            let code = errno
            throw .sharedMemory("cannot open \(path): \(String(cString: strerror(code))) (errno \(code)); the sender has exited, closed the segment, or runs as another user or in another pid namespace (check HostIdentity.sharesMemory)")
        }
        defer { close(fd) }
        // Only a memfd can carry seals; a sealed size also means no SIGBUS while mapped.
        guard loom_is_size_sealed(fd) != 0 else {
            throw .sharedMemory("\(path) is not a size-sealed memfd, so it is not a Loom segment; the handle names the wrong descriptor")
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw lastError("fstat(\(path))") }
        let length = Int(status.st_size)
        guard length >= pageSize, length <= maximumLength else {
            throw .sharedMemory("\(path) holds \(length) bytes, outside the \(pageSize) … \(maximumLength) of a Loom segment")
        }
        let base = try map(fd, length: length)
        func field(_ offset: Int) -> UInt64 {
            UInt64(littleEndian: base.load(fromByteOffset: offset, as: UInt64.self))
        }
        let slotCount = field(16), slotBytes = field(24), dataOffset = field(32)
        let page = UInt64(pageSize)
        let headerEnd = UInt64(controlOffset) + UInt64(controlStride) &* slotCount
        var problem: String?
        if field(0) != magic {
            problem = "it does not start with LOOMSHM1"
        } else if field(8) != token {
            problem = "its token is not the handle's (the descriptor was reused for another segment)"
        } else if slotCount == 0 || slotCount > UInt64(length) / UInt64(controlStride)
                    || slotBytes == 0 || slotBytes % page != 0 || dataOffset % page != 0
                    || dataOffset < headerEnd || dataOffset > UInt64(length)
                    || slotBytes > (UInt64(length) - dataOffset) / slotCount {
            problem = "its header (\(slotCount) slots of \(slotBytes) bytes from \(dataOffset)) does not fit its \(length) bytes"
        }
        if let problem {
            munmap(base, length)
            throw .sharedMemory("\(path) is not the expected Loom segment: \(problem)")
        }
        return SharedSegment(fileDescriptor: -1, base: base, length: length, token: token,
                             slotCount: Int(slotCount), slotBytes: Int(slotBytes), dataOffset: Int(dataOffset))
    }

    private static func map(_ fd: Int32, length: Int) throws(WireError) -> UnsafeMutableRawPointer {
        // MAP_POPULATE faults every page in now: a fresh page costs more than copying into it.
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0)
        guard let address, address != MAP_FAILED else { throw lastError("mmap(\(length) bytes)") }
        return address
    }

    private static func lastError(_ call: String) -> WireError {
        let code = errno
        return .sharedMemory("\(call) failed: \(String(cString: strerror(code))) (errno \(code))")
    }

    // MARK: slots

    private func control(_ slot: Int) -> UnsafeMutableRawPointer {
        base + SharedSegment.controlOffset + SharedSegment.controlStride * slot
    }

    /// The first byte of `slot`'s data.
    func data(_ slot: Int) -> UnsafeMutableRawPointer { base + dataOffset + slotBytes * slot }

    /// Whether `slot` is free (acquire: a receiver's reads of it happened before).
    func isFree(_ slot: Int) -> Bool {
        loom_atomic_load_acquire_u32(control(slot).assumingMemoryBound(to: UInt32.self)) == 0
    }

    /// The generation `slot` holds (meaningful while it is full).
    func generation(_ slot: Int) -> UInt64 {
        loom_atomic_load_acquire_u64((control(slot) + 8).assumingMemoryBound(to: UInt64.self))
    }

    /// Marks `slot` full with the next generation, after its bytes were written (release).
    /// - Returns: the new generation.
    func markFull(_ slot: Int) -> UInt64 {
        let next = generation(slot) &+ 1
        loom_atomic_store_release_u64((control(slot) + 8).assumingMemoryBound(to: UInt64.self), next)
        loom_atomic_store_release_u32(control(slot).assumingMemoryBound(to: UInt32.self), 1)
        return next
    }

    /// Whether `slot` is full with `generation` (acquire: the sender's bytes are visible).
    func isFull(_ slot: Int, generation: UInt64) -> Bool {
        !isFree(slot) && self.generation(slot) == generation
    }

    /// Marks `slot` free if it still holds `generation`, so a stale duplicate cannot free a
    /// later tensor. - Returns: whether it did.
    @discardableResult
    func markFree(_ slot: Int, generation: UInt64) -> Bool {
        guard self.generation(slot) == generation else { return false }
        return loom_atomic_compare_exchange_u32(control(slot).assumingMemoryBound(to: UInt32.self), 1, 0) != 0
    }
}
