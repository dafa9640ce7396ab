import TensorCore
import Tasks

extension Experiment {
    /// Every run the file asks for, in a stable order, each checked by the task kind.
    ///
    /// Lists sweep as a product (default) or zipped (`mode: zip`, equal lengths); `rows` gives
    /// explicit combinations instead; `exclude` drops combinations matching every key of an
    /// entry; `random: {n, seed}` samples n combinations (ranges `{min, max}` are drawn
    /// uniformly). Each combination runs `repeat` times; a kind that takes `seed` gets
    /// `seed + repetition` unless the file fixes it. The sweep is counted first (`size()`), so
    /// nothing larger than `maxRuns` is ever built.
    /// - Throws: `ExperimentError` at the line of the cause: zip lists of unequal length, a sweep
    ///   over `max_runs`, a sweep that leaves no run, a range without `random`, or parameters
    ///   the kind refuses.
    /// - Complexity: O(runs × parameters) after the count, plus O(combinations × exclude
    ///   shapes) for `exclude` and O(combinations log combinations) for `random`.
    public func expand(registry: any TaskCatalog) throws(ExperimentError) -> [ExperimentRun] {
        let kind: TaskDeclaration
        do throws(ParameterProblem) { kind = try registry.declaration(named: task) } catch {
            throw problem(at: marks["task"], "invalid task: \(error)")
        }
        let fixed = params.compactMap { entry -> (String, ParameterValue)? in
            if case let .fixed(value) = entry.setting { return (entry.name, value) }
            return nil
        }
        let swept = params.compactMap { entry -> (String, [ParameterValue], YAMLMark)? in
            if case let .list(values) = entry.setting { return (entry.name, values, entry.mark) }
            return nil
        }
        let ranges = params.compactMap { entry -> (String, Double, Double, Bool, YAMLMark)? in
            if case let .range(low, high, isInteger) = entry.setting { return (entry.name, low, high, isInteger, entry.mark) }
            return nil
        }
        if let range = ranges.first, random == nil {
            throw problem(at: range.4, "parameter '\(range.0)' is a range {min, max}, which needs 'sweep: {random: {n: N}}' to sample it")
        }
        if rows == nil, mode == .zip, let first = swept.first, let odd = swept.first(where: { $0.1.count != first.1.count }) {
            throw problem(at: odd.2, "zip needs lists of equal length: '\(first.0)' has \(first.1.count), '\(odd.0)' has \(odd.1.count)")
        }
        let size = try size()
        var combinations: [[String: ParameterValue]]
        if let rows {
            combinations = rows
        } else if mode == .zip, let first = swept.first {
            combinations = (0..<first.1.count).map { i in Dictionary(uniqueKeysWithValues: swept.map { ($0.0, $0.1[i]) }) }
        } else {
            combinations = [[:]]
            combinations.reserveCapacity(size.combinations)
            for (name, values, _) in swept {
                combinations = combinations.flatMap { partial in values.map { partial.merging([name: $0]) { a, _ in a } } }
            }
        }
        combinations = Experiment.dropping(exclude, from: combinations)
        if let random {
            var generator = SeededRandom(seed: random.seed)
            var sampled: [[String: ParameterValue]] = []
            if ranges.isEmpty {
                var pool = RemainingIndices(count: combinations.count)
                while sampled.count < random.count && pool.count > 0 {
                    sampled.append(combinations[pool.take(Int(generator.next() % UInt64(pool.count)))])
                }
            } else {
                for _ in 0..<random.count {
                    var combination = combinations.isEmpty ? [:] : combinations[Int(generator.next() % UInt64(combinations.count))]
                    for (name, low, high, isInteger, _) in ranges {
                        let u = Double(generator.next() >> 11) / Double(1 << 53)
                        let value = low + u * (high - low)
                        combination[name] = isInteger ? .int(Int(value.rounded())) : .double(value)
                    }
                    sampled.append(combination)
                }
            }
            combinations = sampled
        }
        guard !combinations.isEmpty else {
            throw problem(at: marks["sweep.exclude"] ?? marks["task"], "the sweep leaves no run (check 'exclude' and the lists)")
        }
        let takesSeed = kind.parameters.contains { $0.name == "seed" }
        let fixesSeed = params.contains { $0.name == "seed" }
        let fixedValues = Dictionary(fixed, uniquingKeysWith: { _, last in last })
        var runs: [ExperimentRun] = []
        runs.reserveCapacity(combinations.count * repeatCount)
        for combination in combinations {
            for repetition in 0..<repeatCount {
                var values = fixedValues.merging(combination) { _, swept in swept }
                if takesSeed && !fixesSeed && combination["seed"] == nil { values["seed"] = .int(seed + repetition) }
                let resolved: [String: ParameterValue]
                do throws(ParameterProblem) { resolved = try kind.validate(values, gangSize: gang) } catch {
                    let message = "invalid task: \(error)"
                    throw problem(at: mark(ofParameterNamedIn: message),
                                  "run \(runs.count + 1) (\(Experiment.describe(values))): \(message)")
                }
                runs.append(ExperimentRun(index: runs.count, repetition: repetition, params: resolved))
            }
        }
        return runs
    }

    /// `combinations` without those matching every key of an entry of `exclude`.
    ///
    /// Entries are grouped by their set of keys and each group is a hash set of value tuples, so
    /// each combination costs one lookup per group instead of a scan of every entry.
    static func dropping(_ exclude: [[String: ParameterValue]], from combinations: [[String: ParameterValue]]) -> [[String: ParameterValue]] {
        guard !exclude.isEmpty else { return combinations }
        var groups: [[String]: Set<[ParameterValue]>] = [:]
        for entry in exclude {
            let keys = entry.keys.sorted()
            groups[keys, default: []].insert(keys.map { entry[$0]! })
        }
        return combinations.filter { combination in
            !groups.contains { keys, tuples in
                var tuple: [ParameterValue] = []
                tuple.reserveCapacity(keys.count)
                for key in keys {
                    guard let value = combination[key] else { return false }
                    tuple.append(value)
                }
                return tuples.contains(tuple)
            }
        }
    }

    /// A problem at `mark` (in the file it came from), or at the top of the file.
    private func problem(at mark: YAMLMark?, _ message: String) -> ExperimentError {
        let mark = mark ?? YAMLMark(line: 1, column: 1)
        return ExperimentError(file: mark.source ?? file, line: mark.line, column: mark.column, message)
    }

    /// Where the parameter that a kind's refusal names first was set (its key, or the
    /// override), else the task line: a kind's check speaks of its parameters by name.
    private func mark(ofParameterNamedIn message: String) -> YAMLMark? {
        let placed = Dictionary(params.map { ($0.name, $0.mark) }, uniquingKeysWith: { first, _ in first })
        for word in message.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") }) {
            if let mark = placed[String(word)] { return mark }
        }
        return marks["task"]
    }

    /// `a=1 b=x`, keys sorted, for listings and errors.
    public static func describe(_ params: [String: ParameterValue]) -> String {
        params.keys.sorted().map { "\($0)=\(params[$0]!)" }.joined(separator: " ")
    }
}
