import Foundation
internal import CZeroMQ

/// A CURVE key (32 bytes), written as 40 characters of Z85 text in key files and allow-lists.
public struct CurveKey: Sendable, Hashable, CustomStringConvertible {
    /// The Z85 text form.
    public let text: String

    /// A key from its 40-character Z85 text.
    /// - Throws: `WireError.keys` when the text is not 40 Z85 characters.
    public init(text: String) throws(WireError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.utf8.count == 40 else {
            throw .keys("a CURVE key is 40 Z85 characters; got \(trimmed.utf8.count)")
        }
        var decoded = [UInt8](repeating: 0, count: 32)
        guard zmq_z85_decode(&decoded, trimmed) != nil else {
            throw .keys("'\(trimmed)' is not valid Z85 text")
        }
        self.text = trimmed
    }

    /// The 40 text bytes libzmq's key options accept.
    var bytes: [UInt8] { Array(text.utf8) }

    public var description: String { text }
}

/// A CURVE key pair: a public key to share and a secret key to keep.
public struct CurveKeyPair: Sendable {
    /// The key that goes on the server's allow-list (or into the client's config for a server).
    public let publicKey: CurveKey
    /// The key that never leaves this machine.
    public let secretKey: CurveKey

    /// A pair from known keys.
    public init(publicKey: CurveKey, secretKey: CurveKey) {
        self.publicKey = publicKey
        self.secretKey = secretKey
    }

    /// A fresh random key pair from libsodium.
    /// - Throws: `WireError.call` when libzmq was built without CURVE.
    public static func generate() throws(WireError) -> CurveKeyPair {
        var publicText = [CChar](repeating: 0, count: 41)
        var secretText = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&publicText, &secretText) == 0 else { throw .lastCall("zmq_curve_keypair") }
        func text(_ chars: [CChar]) -> String {
            String(decoding: chars.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return try CurveKeyPair(publicKey: CurveKey(text: text(publicText)), secretKey: CurveKey(text: text(secretText)))
    }
}
