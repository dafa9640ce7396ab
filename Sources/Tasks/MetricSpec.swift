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
}
