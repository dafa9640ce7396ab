import Foundation
internal import CZeroMQ

/// The ZeroMQ socket patterns Loom uses.
public enum SocketKind: Sendable, CustomStringConvertible {
    case pair, dealer, router, push, pull, rep

    var rawValue: Int32 {
        switch self {
        case .pair: ZMQ_PAIR
        case .dealer: ZMQ_DEALER
        case .router: ZMQ_ROUTER
        case .push: ZMQ_PUSH
        case .pull: ZMQ_PULL
        case .rep: ZMQ_REP
        }
    }

    public var description: String {
        switch self {
        case .pair: "PAIR"
        case .dealer: "DEALER"
        case .router: "ROUTER"
        case .push: "PUSH"
        case .pull: "PULL"
        case .rep: "REP"
        }
    }
}

/// A ZeroMQ socket. It is not `Sendable`: one thread creates, uses and closes it (zmq(7)).
///
/// Every socket starts with LINGER 0, so closing never stalls shutdown over unsent messages, and
/// with a `MessageLimit` on what it receives, so a hostile length or a message of many frames
/// cannot make it hold more than the limit (see `MessageLimit` for what libzmq itself buffers).
public struct Socket: ~Copyable {
    let handle: UnsafeMutableRawPointer
    /// Kept so the context outlives the socket: Swift may release a `Context` local after its last
    /// use, before the sockets made from it, and `zmq_ctx_term` then waits forever for them.
    private let context: Context
    /// The pattern, for error messages.
    public let kind: SocketKind
    /// The most one received message may hold (each frame and all frames together).
    public let limit: MessageLimit


    /// Creates a socket of `kind` in `context` that receives messages of at most `limit`.
    /// - Parameter limit: `.control` for cluster control traffic, `.tensor` (the default) for
    ///   sockets that carry tensors.
    /// - Throws: `WireError.call` with libzmq's text (too many open sockets).
    public init(_ context: Context, kind: SocketKind, limit: MessageLimit = .tensor) throws(WireError) {
        guard let handle = zmq_socket(context.handle, kind.rawValue) else {
            throw .lastCall("zmq_socket(\(kind))")
        }
        var linger: Int32 = 0
        var frameLimit = Int64(limit.maximumBytes)  // no frame can be longer than its message
        if zmq_setsockopt(handle, ZMQ_LINGER, &linger, 4) != 0
            || zmq_setsockopt(handle, ZMQ_MAXMSGSIZE, &frameLimit, 8) != 0 {
            let error = WireError.lastCall("zmq_setsockopt(\(kind), ZMQ_LINGER/ZMQ_MAXMSGSIZE)")  // before zmq_close
            zmq_close(handle)
            throw error
        }
        self.handle = handle
        self.kind = kind
        self.limit = limit
        self.context = context
    }

    deinit { zmq_close(handle) }

    // MARK: endpoints

    /// Binds to `endpoint` (`tcp://127.0.0.1:*`, `ipc:///tmp/x`, `inproc://name`).
    /// - Throws: `WireError.call` naming the endpoint (address in use, bad address).
    public func bind(_ endpoint: String) throws(WireError) {
        guard zmq_bind(handle, endpoint) == 0 else { throw .lastCall("zmq_bind(\(kind), \(endpoint))") }
    }

    /// Connects to `endpoint`; libzmq connects in the background and reconnects by itself.
    /// - Throws: `WireError.call` for a malformed endpoint.
    public func connect(_ endpoint: String) throws(WireError) {
        guard zmq_connect(handle, endpoint) == 0 else { throw .lastCall("zmq_connect(\(kind), \(endpoint))") }
    }

    /// Drops the connection to `endpoint`.
    public func disconnect(_ endpoint: String) throws(WireError) {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw .lastCall("zmq_disconnect(\(kind), \(endpoint))") }
    }

    /// The endpoint of the last bind, with a wildcard port resolved (`tcp://127.0.0.1:41234`).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: options

    /// Sets a socket option; see `SocketOption` for the ones Loom uses.
    /// - Throws: `WireError.call` naming the option.
    public func set(_ option: SocketOption) throws(WireError) {
        switch option {
        case let .routingID(id):
            let bytes = Array(id.utf8)
            guard zmq_setsockopt(handle, ZMQ_ROUTING_ID, bytes, bytes.count) == 0 else {
                throw .lastCall("zmq_setsockopt(ZMQ_ROUTING_ID, \(id))")
            }
        case let .routerMandatory(on): try setInt32(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ZMQ_ROUTER_MANDATORY")
        case let .sendHighWaterMark(n): try setInt32(ZMQ_SNDHWM, Int32(clamping: n), "ZMQ_SNDHWM")
        case let .receiveHighWaterMark(n): try setInt32(ZMQ_RCVHWM, Int32(clamping: n), "ZMQ_RCVHWM")
        case let .maximumMessageSize(n): try setInt64(ZMQ_MAXMSGSIZE, n, "ZMQ_MAXMSGSIZE")
        case let .sendTimeout(d): try setInt32(ZMQ_SNDTIMEO, Int32(clamping: d.wholeMilliseconds), "ZMQ_SNDTIMEO")
        case let .immediate(on): try setInt32(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE")
        case let .reconnectInterval(d, maximum):
            try setInt32(ZMQ_RECONNECT_IVL, Int32(clamping: d.wholeMilliseconds), "ZMQ_RECONNECT_IVL")
            try setInt32(ZMQ_RECONNECT_IVL_MAX, Int32(clamping: maximum.wholeMilliseconds), "ZMQ_RECONNECT_IVL_MAX")
        case let .curveServer(secretKey):
            try setInt32(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
            try setBytes(ZMQ_CURVE_SECRETKEY, secretKey.bytes, "ZMQ_CURVE_SECRETKEY")
        case let .curveClient(keys, serverPublicKey):
            try setBytes(ZMQ_CURVE_SERVERKEY, serverPublicKey.bytes, "ZMQ_CURVE_SERVERKEY")
            try setBytes(ZMQ_CURVE_PUBLICKEY, keys.publicKey.bytes, "ZMQ_CURVE_PUBLICKEY")
            try setBytes(ZMQ_CURVE_SECRETKEY, keys.secretKey.bytes, "ZMQ_CURVE_SECRETKEY")
        case let .zapDomain(domain):
            let bytes = Array(domain.utf8)
            guard zmq_setsockopt(handle, ZMQ_ZAP_DOMAIN, bytes, bytes.count) == 0 else {
                throw .lastCall("zmq_setsockopt(ZMQ_ZAP_DOMAIN)")
            }
        }
    }

    private func setInt32(_ option: Int32, _ value: Int32, _ name: String) throws(WireError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int32>.size) == 0 else {
            throw .lastCall("zmq_setsockopt(\(name), \(value))")
        }
    }

    private func setInt64(_ option: Int32, _ value: Int64, _ name: String) throws(WireError) {
        var value = value
        guard zmq_setsockopt(handle, option, &value, MemoryLayout<Int64>.size) == 0 else {
            throw .lastCall("zmq_setsockopt(\(name), \(value))")
        }
    }

    private func setBytes(_ option: Int32, _ bytes: [UInt8], _ name: String) throws(WireError) {
        guard zmq_setsockopt(handle, option, bytes, bytes.count) == 0 else { throw .lastCall("zmq_setsockopt(\(name))") }
    }

    // MARK: frames

    /// Sends `frames` as one multipart message.
    ///
    /// Frames of at least `zeroCopyThreshold` bytes are handed to libzmq without a copy: the
    /// message keeps the `Data` alive until libzmq's I/O thread has written it.
    /// - Parameter wait: false fails at once (EAGAIN) instead of blocking on a full queue.
    /// - Returns: false when `wait` is false and the message could not be queued now, or when
    ///   the peer is unroutable on a ROUTER with ROUTER_MANDATORY (EHOSTUNREACH).
    /// - Throws: `WireError.call` for any other failure.
    @discardableResult
    public func send(_ frames: [Data], wait: Bool = true) throws(WireError) -> Bool {
        precondition(!frames.isEmpty, "a ZeroMQ message has at least one frame")
        for (index, frame) in frames.enumerated() {
            var flags: Int32 = wait ? 0 : ZMQ_DONTWAIT
            if index < frames.count - 1 { flags |= ZMQ_SNDMORE }
            let sent: Int32
            if frame.count >= Socket.zeroCopyThreshold {
                sent = Socket.sendWithoutCopy(frame, handle: handle, flags: flags)
            } else {
                sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
            }
            if sent < 0 {
                let code = zmq_errno()
                // Only the first frame can fail this way: later frames of a message queue atomically.
                if index == 0 && (code == EAGAIN || code == EHOSTUNREACH) { return false }
                throw .call("zmq_send(\(kind), frame \(index) of \(frames.count))", code: code,
                            text: String(cString: zmq_strerror(code)))
            }
        }
        return true
    }

    /// Frames at least this large are sent without a copy.
    public static let zeroCopyThreshold = 64 * 1024

    private static func sendWithoutCopy(_ frame: Data, handle: UnsafeMutableRawPointer, flags: Int32) -> Int32 {
        // The box owns the Data; libzmq calls `releaseFrame` once it no longer needs the bytes.
        // A Data this large has heap storage, so its address is stable while the box holds it.
        let box = Unmanaged.passRetained(FrameBox(frame))
        let base = frame.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        var message = zmq_msg_t()
        guard zmq_msg_init_data(&message, base, frame.count, releaseFrame, box.toOpaque()) == 0 else {
            box.release()
            return -1
        }
        let sent = zmq_msg_send(&message, handle, flags)
        if sent < 0 {
            let code = zmq_errno()
            zmq_msg_close(&message)     // releases the box
            errno = code
            return -1
        }
        return sent
    }

    /// Receives one multipart message, waiting at most `timeout` (nil: wait forever).
    ///
    /// Frames past `maximumFrames` are read and discarded, and the message is returned as
    /// `truncated`. A message whose frames add up to more than `limit` is read to its end and
    /// discarded whole: it comes back `truncated` with no frames and `discardedBytes` set. So a
    /// peer cannot make a receiver keep more than the limit. Large frames are wrapped without a
    /// copy, and freeing a large one gives its memory back to the system (`LargeMessageMemory`).
    /// - Parameter readsUserID: fill in `userID` (a metadata lookup per message, so only on request).
    /// - Returns: nil when nothing arrived in time.
    /// - Throws: `WireError.call` when the socket fails (the context is terminating).
    public func receive(timeout: Duration? = nil, maximumFrames: Int = 64,
                        readsUserID: Bool = false) throws(WireError) -> ReceivedFrames? {
        if let timeout {
            guard try Poller.poll(handle: handle, timeout: timeout) else { return nil }
        }
        var frames: [Data] = []
        var truncated = false
        var total = 0           // bytes of every frame of this message, kept or not
        var discarded = 0       // bytes of the frames closed here
        var isOversize = false
        var started = false
        var index = 0
        var userID: String?
        while true {
            let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
            zmq_msg_init(message)
            // After poll said readable, a whole message is queued: DONTWAIT never splits one.
            let flags: Int32 = timeout == nil || started ? 0 : ZMQ_DONTWAIT
            if zmq_msg_recv(message, handle, flags) < 0 {
                let code = zmq_errno()
                zmq_msg_close(message)
                message.deallocate()
                if code == EAGAIN && !started { return nil }
                if code == EINTR && !started { return nil }
                throw .call("zmq_msg_recv(\(kind))", code: code, text: String(cString: zmq_strerror(code)))
            }
            // Who the ZAP handler said the peer is. libzmq 4.3.4 gives a ROUTER's routing-id frame
            // no metadata, so the frame after it is asked too.
            if readsUserID, userID == nil, index < 2, let property = zmq_msg_gets(message, "User-Id") {
                userID = String(cString: property)
            }
            index += 1
            started = true
            let more = zmq_msg_more(message) == 1
            let size = zmq_msg_size(message)
            total += size
            if !isOversize && total > limit.maximumBytes {
                // Drop what was kept at once, so the discarded message never stays in memory.
                isOversize = true
                truncated = true
                frames = []
            }
            if !isOversize && frames.count < maximumFrames {
                frames.append(Socket.takeFrame(message))
            } else {
                truncated = true
                discarded += size
                zmq_msg_close(message)
                message.deallocate()
            }
            if !more { break }
        }
        LargeMessageMemory.freed(bytes: isOversize ? total : discarded)
        return ReceivedFrames(frames: frames, truncated: truncated, discardedBytes: isOversize ? total : 0, userID: userID)
    }

    /// Turns a received libzmq message into `Data`: small ones by copy, large ones in place.
    private static func takeFrame(_ message: UnsafeMutablePointer<zmq_msg_t>) -> Data {
        let size = zmq_msg_size(message)
        guard size >= zeroCopyThreshold, let base = zmq_msg_data(message) else {
            let data = size == 0 ? Data() : Data(bytes: zmq_msg_data(message)!, count: size)
            zmq_msg_close(message)
            message.deallocate()
            return data
        }
        // `message` is deliberately captured as a raw address: the deallocator frees it.
        let address = UInt(bitPattern: message)
        return Data(bytesNoCopy: base, count: size, deallocator: .custom { _, _ in
            let message = UnsafeMutablePointer<zmq_msg_t>(bitPattern: address)!
            zmq_msg_close(message)
            message.deallocate()
            LargeMessageMemory.freed(bytes: size)
        })
    }

    /// This socket as an item for `Poller.wait`.
    public var pollItem: PollItem { PollItem(socket: handle, fileDescriptor: -1) }
}

/// Keeps a frame's bytes alive while libzmq sends them without a copy.
private final class FrameBox {
    let data: Data
    init(_ data: Data) { self.data = data }
}

private func releaseFrame(_ data: UnsafeMutableRawPointer?, _ hint: UnsafeMutableRawPointer?) {
    guard let hint else { return }
    Unmanaged<FrameBox>.fromOpaque(hint).release()
}

/// One multipart message as received.
public struct ReceivedFrames: Sendable {
    /// The frames, in order (a ROUTER's first frame is the sender's routing id).
    public var frames: [Data]
    /// Whether frames past the receive limit were discarded.
    public var truncated: Bool
    /// The size of a message discarded whole for passing the socket's `MessageLimit` (0 if none).
    public var discardedBytes: Int = 0

    /// The user id the ZAP handler gave the sender's connection (the allow-list name of its
    /// CURVE key), when asked for with `readsUserID`; nil without authentication.
    public var userID: String? = nil

    /// Whether the message was discarded whole for passing the socket's `MessageLimit`.
    public var isOversize: Bool { discardedBytes > 0 }
}

/// The socket options Loom sets after creating a socket.
public enum SocketOption: Sendable {
    /// The identity a ROUTER peer sees for this socket.
    case routingID(String)
    /// A ROUTER reports an unroutable peer (`send` returns false) instead of dropping silently.
    case routerMandatory(Bool)
    /// Messages queued per peer before sends block (or fail with `wait: false`).
    case sendHighWaterMark(Int)
    /// Messages queued per peer on the receiving side.
    case receiveHighWaterMark(Int)
    /// Narrows the largest frame accepted below the socket's `MessageLimit`; a larger one drops
    /// the connection (libzmq's rule).
    case maximumMessageSize(Int64)
    /// How long a blocking send waits before failing with EAGAIN.
    case sendTimeout(Duration)
    /// Queue messages only to completed connections.
    case immediate(Bool)
    /// Reconnection back-off: first interval and cap.
    case reconnectInterval(Duration, maximum: Duration)
    /// Makes this socket a CURVE server with its secret key.
    case curveServer(secretKey: CurveKey)
    /// Makes this socket a CURVE client of a server whose public key is given.
    case curveClient(keys: CurveKeyPair, serverPublicKey: CurveKey)
    /// The ZAP domain for authentication requests.
    case zapDomain(String)
}

extension Duration {
    /// The duration in whole milliseconds, rounded down, for libzmq's integer timeouts.
    /// (Seconds and fractional milliseconds come from TensorCore's `inSeconds`/`inMilliseconds`.)
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
