/// Timed repetitions of one piece of work: one warm-up discarded, then the kept samples.
struct Samples {
    /// Each kept sample's wall-clock time, in the order taken.
    private(set) var durations: [Duration] = []

    /// Adds one sample, taken after the ones already kept.
    mutating func append(_ duration: Duration) { durations.append(duration) }

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

    /// Runs `first` and `second` once each untimed, then alternately `count` times each (in
    /// reverse order every other turn, `measureInTurn`).
    ///
    /// For a kernel and its baseline: this machine's speed drifts by ±10 % over minutes, and
    /// alternating makes both see the same drift, so their ratio stays honest.
    /// - Throws: whatever `first` throws; no sample is kept then.
    static func measureAlternately<E: Error>(count: Int, checksum: inout Double,
                                             _ first: () throws(E) -> Double,
                                             _ second: () -> Double) throws(E) -> (Samples, Samples) {
        let (a, b, _, _) = try measureInTurn(count: count, checksum: &checksum, first, second, third: nil)
        return (a, b)
    }

    /// As `measureAlternately`, with a third piece of work in each turn that times itself
    /// (another process's own measurement: PyTorch's, without the round trip to it). Its samples
    /// are nil when there is no third, or once it returns nil (it stopped). `afterFirst`, when
    /// given, runs untimed after each call of `first` (a checksum over its outputs, their release)
    /// and adds to the checksum; `afterSecond` runs untimed after each call of `second` (putting
    /// OpenBLAS's threads to sleep, `BLAS.releaseThreads`, before the next sample). `fourth`, when
    /// given, is a fourth piece of work in each turn that times itself as `third` does (the kernel
    /// on other tiles, `--compare-blocks`).
    ///
    /// Even turns run first, second, third, fourth; odd turns the reverse. With one fixed order,
    /// what one piece leaves behind for the next (its caches, OpenBLAS's threads, the PyTorch
    /// child's) would favour or slow the same side in every turn. In both orders the first and
    /// the last piece each follow themselves (across the turn's boundary) once in two turns and
    /// another piece in the other, and every side is first as often as last, so such effects
    /// cancel in the medians (on the Zen 3 VM the order moved single sittings' ratios by up to a
    /// quarter, in either direction from one sitting to the next; BENCHMARKS.md).
    /// The warm-up runs in the even order, so `afterFirst` has seen `first`'s outputs before any
    /// `fourth` runs.
    static func measureInTurn<E: Error>(count: Int, checksum: inout Double,
                                        _ first: () throws(E) -> Double,
                                        afterFirst: (() -> Double)? = nil,
                                        _ second: () -> Double,
                                        afterSecond: (() -> Void)? = nil,
                                        third: (() -> Duration?)?,
                                        fourth: (() -> Duration?)? = nil) throws(E) -> (Samples, Samples, Samples?, Samples?) {
        checksum += try first()
        checksum += afterFirst?() ?? 0
        checksum += second()
        afterSecond?()
        var thirdAlive = third?() != nil
        var fourthAlive = fourth?() != nil
        var a = Samples(), b = Samples(), c = Samples(), d = Samples()
        let clock = ContinuousClock()
        for turn in 0..<max(1, count) {
            for piece in turn % 2 == 0 ? [0, 1, 2, 3] : [3, 2, 1, 0] {
                switch piece {
                case 0:
                    let start = clock.now
                    checksum += try first()
                    a.durations.append(clock.now - start)
                    checksum += afterFirst?() ?? 0
                case 1:
                    let start = clock.now
                    checksum += second()
                    b.durations.append(clock.now - start)
                    afterSecond?()
                case 2:
                    if thirdAlive, let third {
                        if let duration = third() { c.durations.append(duration) } else { thirdAlive = false }
                    }
                default:
                    if fourthAlive, let fourth {
                        if let duration = fourth() { d.durations.append(duration) } else { fourthAlive = false }
                    }
                }
            }
        }
        return (a, b, thirdAlive ? c : nil, fourthAlive ? d : nil)
    }

    /// The median sample in milliseconds (the mean of the middle two for an even count).
    var medianMilliseconds: Double {
        let sorted = durations.map(\.inMilliseconds).sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Turn by turn, `self`'s time over `other`'s (samples taken in the same turns): the median
    /// of those ratios, and in how many turns `other` was faster. Above 1: `other` is faster.
    func pairedSpeedup(of other: Samples) -> (median: Double, faster: Int, turns: Int) {
        let ratios = zip(durations, other.durations).map { $0.0.inMilliseconds / $0.1.inMilliseconds }.sorted()
        guard !ratios.isEmpty else { return (.nan, 0, 0) }
        let middle = ratios.count / 2
        let median = ratios.count % 2 == 1 ? ratios[middle] : (ratios[middle - 1] + ratios[middle]) / 2
        return (median, ratios.filter { $0 > 1 }.count, ratios.count)
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
