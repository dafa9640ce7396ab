extension GangMembership {
    /// Why a rank dropped a message from its peer socket.
    public enum Drop: String, Sendable, Hashable, CaseIterable {
        /// The routing id is not `r<rank>` of a rank that links to this one (itself, another
        /// gang's, or a rank this topology never hears from), or, with CURVE, the connection's
        /// key is not that rank's.
        case notAPeer = "not_a_peer"
        /// Too many frames or bytes, or not a Loom message.
        case malformed
        /// A barrier token whose header does not name the rank it came from.
        case forgedBarrier = "forged_barrier"
        /// It arrived early and the pending queue was full (`Limits`).
        case pendingFull = "pending_full"
    }
}
