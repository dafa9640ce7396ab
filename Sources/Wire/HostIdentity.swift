import Foundation

/// Which machine, boot, user and pid namespace a process runs in: peers exchange it at
/// registration and use shared memory only when theirs are equal.
///
/// Equal identities mean a peer can open `/proc/<pid>/fd/<fd>` of the other: the same kernel
/// boot (`boot_id`), the same host name, the same pid namespace (so a pid names the same process
/// on both sides; containers on one host differ here) and the same user (who may open another
/// process's descriptors). The network namespace is part of it too: peers in different ones are
/// treated as different hosts, so their traffic takes the network.
public struct HostIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The identity as text, e.g. `boot=…;host=…;pidns=pid:[4026531836];netns=net:[…];uid=1000`; empty when
    /// some part could not be read.
    public let text: String

    /// An identity received from a peer.
    public init(_ text: String) { self.text = text }

    /// This process's identity, read from /proc.
    public static let current: HostIdentity = {
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let namespace = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")) ?? ""
        // Processes in different network namespaces are placed as different hosts (as a cluster
        // test's namespaces are), so what they exchange crosses the network between them.
        let network = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")) ?? ""
        let host = ProcessInfo.processInfo.hostName
        guard !boot.isEmpty, !namespace.isEmpty, !host.isEmpty else { return HostIdentity("") }
        return HostIdentity("boot=\(boot);host=\(host);pidns=\(namespace);netns=\(network);uid=\(getuid())")
    }()

    /// Whether a process with identity `other` can share tensors with this one through
    /// `SharedTensorSender`/`SharedTensorReceiver`; false when either identity is unknown.
    public func sharesMemory(with other: HostIdentity) -> Bool {
        !text.isEmpty && text == other.text
    }

    public var description: String { text.isEmpty ? "unknown host identity" : text }
}
