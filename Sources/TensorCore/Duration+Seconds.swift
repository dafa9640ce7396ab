extension Duration {
    /// The duration in seconds, as a `Double`, for rates and printed timings.
    ///
    /// The one conversion Loom uses, so every module reports the same number for the same duration.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }

    /// The duration in milliseconds, as a `Double`, for benchmark tables.
    ///
    /// Scaled from the components rather than from `inSeconds` so the printed value keeps its digits.
    public var inMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1e3 + Double(attoseconds) * 1e-15
    }
}
