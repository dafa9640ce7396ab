/// One metric a task kind reports: its name in results and the store, and how figures and
/// tables label it. Declared once by the kind, so reports and exports need no list of their own.
public struct MetricSpec: Sendable, Equatable {
    /// The name in results, the store and experiment files' `report:` (`gflops`).
    public let name: String
    /// Words for an axis or a column (`throughput`).
    public let label: String
    /// The unit, empty when it has none (`GFLOP/s`).
    public let unit: String
    /// Whether it is a curve over steps (`StepMetric`) rather than one final value.
    public let isStepped: Bool

    public init(_ name: String, _ label: String, unit: String = "", stepped: Bool = false) {
        self.name = name
        self.label = label
        self.unit = unit
        self.isStepped = stepped
    }

    /// `label (unit)`, or the label alone.
    public var axisTitle: String { unit.isEmpty ? label : "\(label) (\(unit))" }

    /// The last dot-separated part of the name (`attn_sink` of `L*.H*.attn_sink`): a family's
    /// own word, for places that already say which layer and head.
    public var leaf: String { name.split(separator: ".").last.map(String.init) ?? name }

    /// The concrete name of one member of a family (`L*.H*.attn_sink` with 0, 1 gives
    /// `L0.H1.attn_sink`): each `*` in order takes the next part.
    public func instance(_ parts: CustomStringConvertible...) -> String {
        var result = ""
        var next = parts.makeIterator()
        for character in name {
            if character == "*", let part = next.next() { result += part.description } else { result.append(character) }
        }
        return result
    }
}

extension TaskOutcome {
    /// The final value of a declared metric.
    public subscript(metric: MetricSpec) -> ParameterValue? {
        get { metrics[metric.name] }
        set { metrics[metric.name] = newValue }
    }
}
