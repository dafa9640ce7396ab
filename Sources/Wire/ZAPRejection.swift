/// A client that `ZAPHandler` turned away, for logs: who it was and how often it tried.
public struct ZAPRejection: Sendable, Equatable, CustomStringConvertible {
    /// The security mechanism the client used (`CURVE`, `NULL`, `PLAIN`).
    public let mechanism: String
    /// The client's public key as Z85 text (CURVE only), or nil.
    public let clientKey: String?
    /// The peer address libzmq reported on the latest attempt (an IP address for TCP).
    public var address: String
    /// The handshakes refused for this mechanism and key so far.
    public var attempts: Int

    /// A rejection record for one client.
    public init(mechanism: String, clientKey: String?, address: String, attempts: Int = 1) {
        self.mechanism = mechanism
        self.clientKey = clientKey
        self.address = address
        self.attempts = attempts
    }

    public var description: String {
        let who = clientKey.map { "key \($0)" } ?? "mechanism \(mechanism)"
        return "\(who) from \(address.isEmpty ? "an unknown address" : address), \(attempts) attempt(s)"
    }
}
