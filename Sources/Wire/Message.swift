import Foundation

/// One Loom protocol message: `[tag "LOOM1"] [command] [header] [payload frames…]`.
///
/// The header is a small binary struct (`ByteWriter`/`ByteReader`); payload frames carry raw
/// bytes such as float32 tensors. A ROUTER socket adds the peer's routing id in front on receive
/// and needs it in front on send; `Message` itself never holds it.
public struct Message: Sendable {
    /// The protocol tag; a message with any other first frame is dropped and counted.
    public static let protocolTag = Data("LOOM1".utf8)
    /// The longest command name accepted (command names are short ASCII words).
    public static let maximumCommandLength = 32

    /// The command, e.g. `register`, `task`, `result`.
    public var command: String
    /// The encoded header (may be empty).
    public var header: Data
    /// Payload frames: tensors and other raw bytes.
    public var payload: [Data]

    /// A message with a command, a header and payload frames.
    public init(_ command: String, header: Data = Data(), payload: [Data] = []) {
        self.command = command
        self.header = header
        self.payload = payload
    }

    /// The frames to send (without a routing id).
    public var frames: [Data] {
        [Message.protocolTag, Data(command.utf8), header] + payload
    }

    /// Decodes the frames of one received message (the routing id already removed).
    /// - Throws: `WireError.malformed` saying what is wrong: too few frames, the wrong tag, a
    ///   command that is empty, too long or not printable ASCII.
    public init(frames: ArraySlice<Data>) throws(WireError) {
        guard frames.count >= 3 else {
            throw .malformed("\(frames.count) frame(s); a Loom message has at least 3 (tag, command, header)")
        }
        let tag = frames[frames.startIndex]
        guard tag == Message.protocolTag else {
            let shown = tag.prefix(8).map { String(format: "%02x", $0) }.joined()
            throw .malformed("protocol tag 0x\(shown)\(tag.count > 8 ? "…" : "") is not LOOM1 (\(tag.count) bytes)")
        }
        let commandBytes = frames[frames.startIndex + 1]
        guard !commandBytes.isEmpty, commandBytes.count <= Message.maximumCommandLength,
              commandBytes.allSatisfy({ $0 >= 0x21 && $0 < 0x7f }) else {
            throw .malformed("command frame of \(commandBytes.count) bytes is not a short printable ASCII word")
        }
        command = String(decoding: commandBytes, as: UTF8.self)
        header = frames[frames.startIndex + 2]
        payload = Array(frames.dropFirst(3))
    }
}
