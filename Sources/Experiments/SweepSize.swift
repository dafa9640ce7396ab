/// How many combinations and runs an experiment's sweep makes, counted from the lengths of its
/// lists before any run is built, so a sweep too large to hold is refused with its place and
/// count instead of exhausting memory.
public struct SweepSize: Sendable, Equatable {
    /// `max_runs` when the file gives none.
    public static let defaultLimit = 1_000_000
    /// The largest `max_runs` accepted: each run is held in memory (its parameters, then a row
    /// of the plan), so ten million runs already take gigabytes.
    public static let ceiling = 10_000_000

    /// Combinations before `exclude` drops any and before `random` samples.
    public var combinations: Int
    /// Combinations kept by `random` (all, without it) times `repeat`; `exclude` may make fewer.
    public var runs: Int
}

extension Experiment {
    /// Counts the sweep without building it.
    /// - Returns: the combinations and runs, both at most `maxRuns`.
    /// - Throws: `ExperimentError` at the line that makes the sweep too large (the longest
    ///   list, `sweep.rows`, `sweep.random.n` or `repeat`) with the count and how to raise the limit.
    /// - Complexity: O(parameters), with overflow-checked products.
    public func size() throws(ExperimentError) -> SweepSize {
        let taskMark = marks["task"] ?? YAMLMark(line: 1, column: 1)
        var factors: [(what: String, count: Int, mark: YAMLMark)] = []
        let swept = params.compactMap { entry -> (String, Int, YAMLMark)? in
            if case let .list(values) = entry.setting { return (entry.name, values.count, entry.mark) }
            return nil
        }
        if let rows {
            factors = [("sweep.rows: \(rows.count) rows", rows.count, marks["sweep.rows"] ?? taskMark)]
        } else if mode == .zip, let first = swept.first {
            factors = [("zip of lists of \(first.1)", first.1, first.2)]
        } else {
            factors = swept.map { ("\($0.0): \($0.1) values", $0.1, $0.2) }
        }
        var combinations: Int? = 1
        for factor in factors {
            combinations = combinations.flatMap { product($0, factor.count) }
        }
        let largest = factors.max { $0.count < $1.count }
        guard let combinations, combinations <= maxRuns else {
            let shown = combinations.map(String.init) ?? "more than \(Int.max)"
            throw tooLarge("the sweep makes \(shown) combinations (\(factors.map(\.what).joined(separator: " × ")))",
                           at: largest?.mark ?? taskMark)
        }
        var sampled = combinations
        if let random {
            let takesRanges = params.contains { if case .range = $0.setting { true } else { false } }
            sampled = takesRanges ? random.count : min(random.count, combinations)
            if sampled > maxRuns {
                throw tooLarge("sweep.random.n asks for \(random.count) runs", at: marks["sweep.random.n"] ?? taskMark)
            }
        }
        guard let runs = product(sampled, repeatCount), runs <= maxRuns else {
            let shown = product(sampled, repeatCount).map(String.init) ?? "more than \(Int.max)"
            throw tooLarge("the sweep makes \(shown) runs (\(sampled) combination\(sampled == 1 ? "" : "s") × repeat \(repeatCount))",
                           at: repeatCount > 1 ? marks["repeat"] ?? taskMark : largest?.mark ?? taskMark)
        }
        return SweepSize(combinations: combinations, runs: runs)
    }

    private func product(_ a: Int, _ b: Int) -> Int? {
        let (value, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? nil : value
    }

    private func tooLarge(_ what: String, at mark: YAMLMark) -> ExperimentError {
        ExperimentError(file: mark.source ?? file, line: mark.line, column: mark.column,
                        "\(what), more than max_runs = \(maxRuns); shrink the sweep, or raise the limit with "
                        + "'max_runs: N' in the file or the override max_runs=N (at most \(SweepSize.ceiling))")
    }
}
