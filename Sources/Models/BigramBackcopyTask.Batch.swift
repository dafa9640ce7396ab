extension BigramBackcopyTask {
    /// What a target position asks of a model.
    public enum TargetKind: UInt8, Sendable, Equatable {
        /// The input is not a trigger; the target is a draw from its bigram row (at the first
        /// position, after BOS, from the marginal without triggers).
        case bigram
        /// The input is a trigger; the target is the token before it (one-hot, oracle risk 0).
        case backcopy
    }

    /// B sequences of T next-token predictions, row-major (sequence b is positions b·T ..< (b+1)·T).
    public struct Batch: Sendable, Equatable {
        /// B, the number of sequences.
        public let size: Int
        /// T, the positions per sequence.
        public let length: Int
        /// The BOS token id.
        public let beginToken: Int32
        /// (B, T) row-major: tokens x₀ … x_{T−1} of each sequence.
        public let inputs: [Int32]
        /// (B, T) row-major: tokens x₁ … x_T, the next-token targets.
        public let targets: [Int32]
        /// (B, T) row-major: whether each target is a back-copy or a bigram draw.
        public let kinds: [TargetKind]

        /// Whether the input at flat position `position` is BOS (exactly the first position of
        /// each sequence).
        /// - Precondition: `position` in 0 ..< B·T.
        public func inputIsBOS(at position: Int) -> Bool {
            inputs[position] == beginToken
        }

        /// (B, T) row-major: whether each input is BOS.
        /// - Complexity: O(B·T).
        public var inputIsBOS: [Bool] { inputs.map { $0 == beginToken } }
    }
}
