/// Timed repetitions of one piece of work: one warm-up discarded, then the kept samples.
struct Samples {
    /// Each kept sample's wall-clock time, in the order taken.
    private(set) var durations: [Duration] = []

    /// Runs `body` once untimed (caches, page faults, thread start-up), then `count` timed times.
    /// - Parameters:
    ///   - count: timed samples to keep (at least 1).
    ///   - body: the work; it returns a value folded into the caller's checksum so it cannot be
    ///     optimised away.
    /// - Throws: whatever `body` throws; no sample is kept then.
    static func measure<E: Error>(count: Int, checksum: inout Double,
                                  _ body: () throws(E) -> Double) throws(E) -> Samples {
        checksum += try body()
        var samples = Samples()
        let clock = ContinuousClock()
        for _ in 0..<max(1, count) {
            let start = clock.now
            let value = try body()
            samples.durations.append(clock.now - start)
            checksum += value
        }
        return samples
    }

    /// Runs `first` and `second` once each untimed, then alternately `count` times each.
    ///
    /// For a kernel and its baseline: this machine's speed drifts by ±10 % over minutes, and
    /// alternating makes both see the same drift, so their ratio stays honest.
    /// - Throws: whatever `first` throws; no sample is kept then.
    static func measureAlternately<E: Error>(count: Int, checksum: inout Double,
                                             _ first: () throws(E) -> Double,
                                             _ second: () -> Double) throws(E) -> (Samples, Samples) {
        let (a, b, _) = try measureInTurn(count: count, checksum: &checksum, first, second, third: nil)
        return (a, b)
    }

    /// As `measureAlternately`, with a third piece of work in each turn that times itself
    /// (another process's own measurement: PyTorch's, without the round trip to it). Its samples
    /// are nil when there is no third, or once it returns nil (it stopped). `afterFirst`, when
    /// given, runs untimed after each call of `first` (a checksum over its outputs, their release)
    /// and adds to the checksum; `afterSecond` runs untimed after each call of `second` (putting
    /// OpenBLAS's threads to sleep, `BLAS.releaseThreads`, before the next sample).
    static func measureInTurn<E: Error>(count: Int, checksum: inout Double,
                                        _ first: () throws(E) -> Double,
                                        afterFirst: (() -> Double)? = nil,
                                        _ second: () -> Double,
                                        afterSecond: (() -> Void)? = nil,
                                        third: (() -> Duration?)?) throws(E) -> (Samples, Samples, Samples?) {
        checksum += try first()
        checksum += afterFirst?() ?? 0
        checksum += second()
        afterSecond?()
        var thirdAlive = third?() != nil
        var a = Samples(), b = Samples(), c = Samples()
        let clock = ContinuousClock()
        for _ in 0..<max(1, count) {
            var start = clock.now
            checksum += try first()
            a.durations.append(clock.now - start)
            checksum += afterFirst?() ?? 0
            start = clock.now
            checksum += second()
            b.durations.append(clock.now - start)
            afterSecond?()
            if thirdAlive, let third {
                if let duration = third() { c.durations.append(duration) } else { thirdAlive = false }
            }
        }
        return (a, b, thirdAlive ? c : nil)
    }

    /// The median sample in milliseconds (the mean of the middle two for an even count).
    var medianMilliseconds: Double {
        let sorted = durations.map(\.inMilliseconds).sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// The fastest sample in milliseconds.
    var minimumMilliseconds: Double {
        durations.map(\.inMilliseconds).min() ?? .nan
    }

    /// The rate `flops` per median sample, in GFLOP/s.
    func gigaflopsPerSecond(_ flops: Double) -> Double {
        flops / (medianMilliseconds * 1e-3) / 1e9
    }
}
