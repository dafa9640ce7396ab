extension GangMembership {
    /// How much a rank keeps of messages that arrive before it asks for them.
    ///
    /// A schedule has only a few messages in flight per peer (the next step's tensors, the next
    /// round's barrier token), so anything past these bounds is a bug or an attack: it is dropped
    /// and counted (`Drop.pendingFull`), and the gang then fails by timeout instead of growing
    /// without bound.
    public struct Limits: Sendable, Equatable {
        /// Early messages kept per sending rank.
        public var pendingMessagesPerPeer: Int
        /// Header and payload bytes of all early messages kept.
        public var pendingBytes: Int

        /// Limits of `pendingMessagesPerPeer` messages per rank and `pendingBytes` in all.
        /// - Precondition: both ≥ 1.
        public init(pendingMessagesPerPeer: Int, pendingBytes: Int) {
            precondition(pendingMessagesPerPeer >= 1 && pendingBytes >= 1, "gang limits must allow one message")
            self.pendingMessagesPerPeer = pendingMessagesPerPeer
            self.pendingBytes = pendingBytes
        }

        /// 256 messages per peer (the ring schedules run at most a step, a few dozen tensors,
        /// ahead) and 2 GiB: two of the largest tensor frames a rank accepts.
        public static let standard = Limits(pendingMessagesPerPeer: 256, pendingBytes: 2 << 30)
    }
}
