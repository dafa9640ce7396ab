/// One ratio taken turn by turn: a kernel against a baseline that ran right before or after it
/// in the same turn (`Samples.measureInTurn`), so each value sees one moment of the machine.
///
/// The tables quote the ratio of the two medians, which can come from different turns; these
/// values give its spread, and `make speed` judges a goal on their median. On a shared VM whose
/// speed changes from one minute to the next, the two can fall either side of a goal.
struct TurnRatios: Equatable {
    /// The values in turn order: with `Samples.measureInTurn`, Loom ran first in the even turns
    /// (0, 2, …) and last in the odd ones, so the two halves show whether the order mattered.
    let values: [Double]
    /// The same, smallest first.
    let sorted: [Double]

    init(_ values: [Double]) {
        self.values = values
        sorted = values.sorted()
    }

    var count: Int { sorted.count }
    var lowest: Double { sorted.first ?? .nan }
    var highest: Double { sorted.last ?? .nan }

    /// The middle value (the mean of the middle two for an even count); NaN when empty.
    var median: Double {
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// `[lowest–highest]` with two decimals, for a table cell; empty when there are no turns.
    var rangeText: String {
        count == 0 ? "" : "[" + String(format: "%.2f–%.2f", lowest, highest) + "]"
    }

    /// The same as a dictionary, for `JSONSerialization`.
    var dictionary: [String: Any] {
        ["median": median, "min": lowest, "max": highest, "turns": count, "values": values]
    }

    /// The JSON object `{"median", "min", "max", "turns", "values"}` (values in turn order), or
    /// null without turns.
    var json: JSONValue {
        guard count > 0 else { return .null }
        return .object([("median", .number(median)), ("min", .number(lowest)), ("max", .number(highest)),
                        ("turns", .integer(count)), ("values", .array(values.map { .number($0) }))])
    }
}

extension Samples {
    /// Turn by turn, this work's rate over `other`'s: `scale · other / self` for each pair of
    /// samples taken in the same turn, with `scale` this work's operations over the other's
    /// (1 for the same work). Pairs only as many turns as both have.
    func turnRatios(over other: Samples, scale: Double = 1) -> TurnRatios {
        TurnRatios(zip(durations, other.durations).map { scale * $0.1.inSeconds / $0.0.inSeconds })
    }
}
