import Cluster
import TensorCore

extension Experiment {
    /// Every run the file asks for, in a stable order, each checked by the task kind.
    ///
    /// Lists sweep as a product (default) or zipped (`mode: zip`, equal lengths); `rows` gives
    /// explicit combinations instead; `exclude` drops combinations matching every key of an
    /// entry; `random: {n, seed}` samples n combinations (ranges `{min, max}` are drawn
    /// uniformly). Each combination runs `repeat` times; a kind that takes `seed` gets
    /// `seed + repetition` unless the file fixes it.
    /// - Throws: `ExperimentError` at the line of the cause: zip lists of unequal length, a sweep
    ///   that leaves no run, a range without `random`, or parameters the kind refuses.
    public func expand(registry: TaskRegistry) throws(ExperimentError) -> [ExperimentRun] {
        let kind: TaskKind
        do throws(ClusterError) { kind = try registry.kind(named: task) } catch {
            throw ExperimentError(file: file, line: 1, column: 1, "\(error)")
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
            throw ExperimentError(file: file, line: range.4.line, column: range.4.column,
                                  "parameter '\(range.0)' is a range {min, max}, which needs 'sweep: {random: {n: N}}' to sample it")
        }
        var combinations: [[String: ParameterValue]]
        if let rows {
            combinations = rows
        } else if mode == .zip, let first = swept.first {
            if let odd = swept.first(where: { $0.1.count != first.1.count }) {
                throw ExperimentError(file: file, line: odd.2.line, column: odd.2.column,
                                      "zip needs lists of equal length: '\(first.0)' has \(first.1.count), '\(odd.0)' has \(odd.1.count)")
            }
            combinations = (0..<first.1.count).map { i in Dictionary(uniqueKeysWithValues: swept.map { ($0.0, $0.1[i]) }) }
        } else {
            combinations = [[:]]
            for (name, values, _) in swept {
                combinations = combinations.flatMap { partial in values.map { partial.merging([name: $0]) { a, _ in a } } }
            }
        }
        combinations = combinations.filter { combination in
            !exclude.contains { entry in entry.allSatisfy { combination[$0.key] == $0.value } }
        }
        if let random {
            var generator = SeededRandom(seed: random.seed)
            var sampled: [[String: ParameterValue]] = []
            if ranges.isEmpty {
                var pool = combinations
                while sampled.count < random.count && !pool.isEmpty {
                    sampled.append(pool.remove(at: Int(generator.next() % UInt64(pool.count))))
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
            throw ExperimentError(file: file, line: 1, column: 1, "the sweep leaves no run (check 'exclude' and the lists)")
        }
        let takesSeed = kind.parameters.contains { $0.name == "seed" }
        let fixesSeed = params.contains { $0.name == "seed" }
        var runs: [ExperimentRun] = []
        for combination in combinations {
            for repetition in 0..<repeatCount {
                var values = Dictionary(uniqueKeysWithValues: fixed).merging(combination) { _, swept in swept }
                if takesSeed && !fixesSeed && combination["seed"] == nil { values["seed"] = .int(seed + repetition) }
                let resolved: [String: ParameterValue]
                do throws(ClusterError) { resolved = try kind.validate(values, gangSize: gang) } catch {
                    let mark = params.first?.mark ?? YAMLMark(line: 1, column: 1)
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "run \(runs.count + 1) (\(Experiment.describe(values))): \(error)")
                }
                runs.append(ExperimentRun(index: runs.count, repetition: repetition, params: resolved))
            }
        }
        return runs
    }

    /// `a=1 b=x`, keys sorted, for listings and errors.
    public static func describe(_ params: [String: ParameterValue]) -> String {
        params.keys.sorted().map { "\($0)=\(params[$0]!)" }.joined(separator: " ")
    }
}
