import Wire

/// What a worker needs to talk CURVE to a coordinator: its own key pair and the server's
/// public key.
public struct CurveClientSecurity: Sendable {
    public var keys: CurveKeyPair
    public var serverPublicKey: CurveKey

    public init(keys: CurveKeyPair, serverPublicKey: CurveKey) {
        self.keys = keys
        self.serverPublicKey = serverPublicKey
    }

    func apply(to socket: borrowing Socket) throws(WireError) {
        try socket.set(.curveClient(keys: keys, serverPublicKey: serverPublicKey))
    }
}
