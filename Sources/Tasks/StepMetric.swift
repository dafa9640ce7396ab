/// A metric measured at a step of a run (a training curve's point).
public struct StepMetric: Sendable, Equatable {
    public var name: String
    public var step: Int
    public var value: Double
    public init(name: String, step: Int, value: Double) { self.name = name; self.step = step; self.value = value }
}
