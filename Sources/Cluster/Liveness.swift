/// The Paranoid Pirate liveness rule both sides apply: beat every `interval`; a peer unheard for
/// `misses` intervals is dead.
public struct Liveness: Sendable {
    /// How often each side sends a heartbeat (when it has sent nothing else).
    public var interval: Duration
    /// How many intervals of silence make a peer dead.
    public var misses: Int

    /// One-second beats, dead after three missed: the defaults of DESIGN.md.
    public static let standard = Liveness(interval: .seconds(1), misses: 3)

    public init(interval: Duration, misses: Int) {
        precondition(interval > .zero && misses >= 1, "liveness needs a positive interval and at least one miss")
        self.interval = interval
        self.misses = misses
    }

    /// The silence after which a peer is declared dead.
    public var deadline: Duration { interval * misses }
}

/// A log line sink: the component name and the text.
public typealias ClusterLog = @Sendable (String) -> Void
