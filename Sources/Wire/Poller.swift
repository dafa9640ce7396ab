import Foundation
internal import CZeroMQ
internal import CSystem

/// Something `Poller.wait` can watch: a socket or a plain file descriptor (an eventfd).
public struct PollItem {
    let socket: UnsafeMutableRawPointer?
    let fileDescriptor: Int32

    /// A file descriptor to watch for input.
    public init(fileDescriptor: Int32) {
        self.socket = nil
        self.fileDescriptor = fileDescriptor
    }

    init(socket: UnsafeMutableRawPointer, fileDescriptor: Int32) {
        self.socket = socket
        self.fileDescriptor = fileDescriptor
    }
}

/// Waits for input on several sockets and descriptors at once (`zmq_poll`).
public enum Poller {
    /// Waits until one of `items` has input, or `timeout` passes.
    /// - Returns: for each item, whether it has input; all false on timeout or on a signal.
    /// - Throws: `WireError.call` when polling fails for another reason.
    public static func wait(_ items: [PollItem], timeout: Duration) throws(WireError) -> [Bool] {
        var raw = items.map { item in
            zmq_pollitem_t(socket: item.socket, fd: item.fileDescriptor, events: Int16(ZMQ_POLLIN), revents: 0)
        }
        let count = zmq_poll(&raw, Int32(raw.count), Int(max(0, timeout.wholeMilliseconds)))
        if count < 0 {
            if zmq_errno() == EINTR { return [Bool](repeating: false, count: items.count) }
            throw .lastCall("zmq_poll")
        }
        return raw.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }

    static func poll(handle: UnsafeMutableRawPointer, timeout: Duration) throws(WireError) -> Bool {
        try wait([PollItem(socket: handle, fileDescriptor: -1)], timeout: timeout)[0]
    }
}

/// A wake-up signal that any thread can raise and a socket thread can poll beside its sockets.
///
/// An eventfd: raising it is one `write`, safe from any thread, where a ZeroMQ socket used from
/// two threads would not be.
public final class WakeSignal: @unchecked Sendable {
    // @unchecked: the descriptor is immutable after init, and eventfd reads and writes are atomic.
    public let fileDescriptor: Int32

    /// Creates the eventfd.
    /// - Throws: `WireError.call` when the process is out of descriptors.
    public init() throws(WireError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else {
            throw .call("eventfd", code: errno, text: String(cString: strerror(errno)))
        }
        fileDescriptor = fd
    }

    /// Wakes the thread polling this signal.
    public func raise() {
        var one: UInt64 = 1
        _ = write(fileDescriptor, &one, 8)
    }

    /// Clears the signal after a poll reported it.
    public func clear() {
        var value: UInt64 = 0
        _ = read(fileDescriptor, &value, 8)
    }

    /// This signal as an item for `Poller.wait`.
    public var pollItem: PollItem { PollItem(fileDescriptor: fileDescriptor) }

    deinit { close(fileDescriptor) }
}
