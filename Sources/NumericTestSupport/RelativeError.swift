/// How far a result is from its reference: `‖a − b‖₂ / ‖b‖₂` and the worst element.
///
/// Print it in a failing expectation: its description names the worst element's index and both
/// values, which usually says at once whether one row or everything is wrong.
public struct ErrorReport: Sendable, CustomStringConvertible {
    /// `‖a − b‖₂ / ‖b‖₂`, or `‖a − b‖₂` when `b` is all zeros; NaN when any element is NaN or the
    /// counts differ.
    public var relative: Double
    /// `max |a − b|` over the elements.
    public var maxAbsolute: Double
    /// The index of the largest `|a − b|` (or of the first NaN), nil when empty.
    public var worstIndex: Int?
    /// `a` at `worstIndex`.
    public var worstActual: Double
    /// `b` at `worstIndex`.
    public var worstExpected: Double
    /// The number of elements compared.
    public var count: Int

    /// Compares `actual` with the reference `expected`, element by element.
    /// - Complexity: O(count).
    public init(_ actual: [Double], _ expected: [Double]) {
        count = actual.count
        guard actual.count == expected.count else {
            relative = .nan; maxAbsolute = .nan; worstIndex = nil; worstActual = .nan; worstExpected = .nan
            count = -1
            return
        }
        var difference = 0.0, reference = 0.0, worst = -1.0
        var worstAt: Int? = nil
        for i in actual.indices {
            let delta = abs(actual[i] - expected[i])
            difference += delta * delta
            reference += expected[i] * expected[i]
            if delta.isNaN {                              // a NaN is the worst element there is
                if worst.isNaN == false { worst = .nan; worstAt = i }
            } else if !worst.isNaN && delta > worst {
                worst = delta; worstAt = i
            }
        }
        relative = reference > 0 ? (difference / reference).squareRoot() : difference.squareRoot()
        maxAbsolute = worstAt == nil ? 0 : worst
        worstIndex = worstAt
        worstActual = worstAt.map { actual[$0] } ?? 0
        worstExpected = worstAt.map { expected[$0] } ?? 0
    }

    /// Compares float32 `actual` with the float64 reference `expected`.
    /// - Complexity: O(count).
    public init(_ actual: [Float], _ expected: [Double]) {
        self.init(actual.map(Double.init), expected)
    }

    public var description: String {
        if count < 0 { return "element counts differ" }
        guard let worstIndex else { return "relative error \(relative) over \(count) elements" }
        return "relative error \(relative), max |Δ| \(maxAbsolute) at [\(worstIndex)]: "
            + "got \(worstActual), expected \(worstExpected) (\(count) elements)"
    }

    /// The same report with the worst index spelled as a multi-index of `shape`.
    public func describing(shape: [Int]) -> String {
        guard let worstIndex, count >= 0 else { return description }
        return "relative error \(relative), max |Δ| \(maxAbsolute) at \(multiIndex(worstIndex, shape)): "
            + "got \(worstActual), expected \(worstExpected) (shape \(shape))"
    }
}

/// `‖a − b‖₂ / ‖b‖₂` of float32 `a` against the float64 reference `b` (absolute when `b` is 0).
/// - Complexity: O(count).
public func relativeError(_ a: [Float], _ b: [Double]) -> Double {
    ErrorReport(a, b).relative
}

/// `‖a − b‖₂ / ‖b‖₂` of `a` against the reference `b` (absolute when `b` is 0).
/// - Complexity: O(count).
public func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    ErrorReport(a, b).relative
}

/// A flat row-major index as `[i, j, …]` of `shape`.
func multiIndex(_ flat: Int, _ shape: [Int]) -> String {
    var rest = flat
    var index = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() where shape[axis] > 0 {
        index[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return "[" + index.map(String.init).joined(separator: ", ") + "]"
}
