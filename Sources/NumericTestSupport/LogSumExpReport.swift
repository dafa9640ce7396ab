/// How far a log-sum-exp result is from its reference, with −∞ rows (no visible key) checked apart.
///
/// The relative error is taken over the rows where the reference is finite; a row where exactly
/// one of the two is −∞ is a mismatch, whatever the error elsewhere.
public struct LogSumExpReport: Sendable, CustomStringConvertible {
    /// The error over the rows whose reference is finite (the other side's −∞ there counts too).
    public var finite: ErrorReport
    /// Rows where the result is −∞ and the reference is not, or the reverse.
    public var mismatchedRows: [Int]
    /// Rows whose reference is −∞.
    public var emptyRows: Int

    /// Compares float32 `actual` with the float64 reference `expected`, row by row.
    /// - Complexity: O(rows).
    public init(_ actual: [Float], _ expected: [Double]) {
        precondition(actual.count == expected.count, "lse counts differ: \(actual.count) vs \(expected.count)")
        var a: [Double] = [], b: [Double] = []
        var mismatched: [Int] = [], empty = 0
        for row in expected.indices {
            let isEmpty = expected[row] == -.infinity
            if isEmpty { empty += 1 }
            if isEmpty != (actual[row] == -.infinity) {
                mismatched.append(row)
            } else if !isEmpty {
                a.append(Double(actual[row])); b.append(expected[row])
            }
        }
        finite = ErrorReport(a, b)
        mismatchedRows = mismatched
        emptyRows = empty
    }

    /// Whether every −∞ row matches and the finite rows are within `tolerance` relative error.
    public func isWithin(_ tolerance: Double) -> Bool {
        mismatchedRows.isEmpty && finite.relative <= tolerance
    }

    public var description: String {
        let rows = mismatchedRows.prefix(8).map(String.init).joined(separator: ", ")
        let mismatch = mismatchedRows.isEmpty ? "" : "; −∞ differs on \(mismatchedRows.count) rows (first: \(rows))"
        return "lse over finite rows: \(finite); \(emptyRows) empty rows\(mismatch)"
    }
}
