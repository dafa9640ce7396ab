/// The most one received message may hold, chosen by what the socket carries.
///
/// libzmq's `ZMQ_MAXMSGSIZE` bounds one frame only: a peer could still send a message of many
/// frames, each under the limit. The socket therefore applies `maximumBytes` twice: to each frame
/// (libzmq refuses a longer frame before allocating it and drops the connection) and to the sum
/// of a message's frames while receiving (the rest of the message is read and discarded, and the
/// message is returned as `truncated` for the caller to count).
public struct MessageLimit: Sendable, Equatable, CustomStringConvertible {
    /// The largest total of one message's frames, in bytes; no frame may be longer either.
    public var maximumBytes: Int

    /// A limit of `maximumBytes` per message.
    /// - Precondition: `maximumBytes` ≥ 1.
    public init(maximumBytes: Int) {
        precondition(maximumBytes >= 1, "a message limit must allow at least one byte")
        self.maximumBytes = maximumBytes
    }

    /// Cluster control traffic (coordinator, workers, clients): 64 MiB. The largest legitimate
    /// message is a result or a `results`/`events` reply carrying stepped metrics, at about
    /// 25–60 bytes a point: a million points of a long training curve fit with room to spare.
    public static let control = MessageLimit(maximumBytes: 64 << 20)

    /// Tensor traffic between gang ranks: a 1 GiB tensor (above any Loom sends in one piece) with
    /// 64 KiB for the routing id, command and header frames around it.
    public static let tensor = MessageLimit(maximumBytes: (1 << 30) + (64 << 10))

    /// The most a ROUTER adds to a message it receives: the sender's routing id (1–255 bytes).
    /// A sender that must stay under a receiver's limit leaves this much room.
    public static let routingIDAllowance = 255

    public var description: String {
        maximumBytes % (1 << 20) == 0 ? "\(maximumBytes >> 20) MiB" : "\(maximumBytes) bytes"
    }
}
