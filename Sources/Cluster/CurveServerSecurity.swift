import Wire

/// What a coordinator needs to serve CURVE: its key pair and the client keys it admits.
public struct CurveServerSecurity: Sendable {
    public var keys: CurveKeyPair
    public var allowList: AllowList

    public init(keys: CurveKeyPair, allowList: AllowList) {
        self.keys = keys
        self.allowList = allowList
    }
}
