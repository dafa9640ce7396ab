import Tasks

/// One parameter of an experiment file: a fixed value, a list to sweep, or a range to sample.
public enum ParameterSetting: Sendable {
    case fixed(ParameterValue)
    case list([ParameterValue])
    case range(min: Double, max: Double, isInteger: Bool)
}

/// A parsed, validated experiment file.
public struct Experiment: Sendable {
    public enum SweepMode: String, Sendable, CaseIterable { case product, zip }

    public var file: String
    public var name: String
    public var description: String
    public var task: String
    /// Parameters in file order, each with where it was set (its key, or the override).
    public var params: [(name: String, setting: ParameterSetting, mark: YAMLMark)]
    public var mode: SweepMode
    public var exclude: [[String: ParameterValue]]
    public var rows: [[String: ParameterValue]]?
    public var random: (count: Int, seed: UInt64)?
    public var repeatCount: Int
    public var seed: Int
    public var workers: Int?
    public var gang: Int
    public var timeoutSeconds: Double?
    public var retries: Int
    /// The `report:` section, kept for the report renderer.
    public var report: YAMLNode?
    /// The most runs (and combinations before sampling) the sweep may make (`max_runs:`).
    public var maxRuns = SweepSize.defaultLimit
    /// Where settings that size or shape the sweep were written (`repeat`, `sweep.random.n`,
    /// `sweep.rows`, `sweep.exclude`, `max_runs`, `task`), for errors found when expanding.
    public var marks: [String: YAMLMark] = [:]
}

/// One run an experiment expands to.
public struct ExperimentRun: Sendable {
    /// 0-based position in the expansion.
    public var index: Int
    /// 0-based repeat of the same parameters.
    public var repetition: Int
    /// The full, resolved parameters, the seed included when the kind takes one.
    public var params: [String: ParameterValue]
}
