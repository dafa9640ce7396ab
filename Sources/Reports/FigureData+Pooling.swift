import Tasks

extension FigureData {
    /// The parameters that take more than one value inside some group of `rows` (one point of the
    /// figure: a facet, series and x value), other than the figure's own x, series and facet.
    /// A curve's group is its (facet, series): every step of it pools the same runs. Runs are
    /// compared within one repetition, since repeats differ in their seed by design.
    static func pooled(_ rows: [Row], figure: FigureSpec) -> [Pooled] {
        let own = Set([figure.x, figure.series, figure.facet, stepAxis].compactMap { $0 })
        var groups: [[ParameterValue?]: [Int64: [String: ParameterValue]]] = [:]
        for row in rows {
            let key = [row.facet, row.series, .int(row.run.repetition)] + (figure.x == stepAxis ? [] : [row.x])
            groups[key, default: [:]][row.run.id] = row.run.params
        }
        var values: [String: [ParameterValue?]] = [:]
        for runs in groups.values where runs.count > 1 {
            let params = Array(runs.values)
            for name in Set(params.flatMap(\.keys)).subtracting(own) {
                let seen = params.map { $0[name] }
                guard Set(seen).count > 1 else { continue }
                values[name, default: []] += seen
            }
        }
        return values.keys.sorted().map { name in
            let present = ordered(values[name]!.compactMap { $0 }).map(\.description)
            return Pooled(parameter: name, values: present + (values[name]!.contains(nil) ? ["(unset)"] : []))
        }
    }

    /// The key text of a series value: the value alone, a name's underscores read as spaces
    /// (`zigzag_ring` is `zigzag ring`); the parameter is the key's title.
    static func legend(for value: ParameterValue) -> String {
        if case let .string(text) = value { return text.replacingOccurrences(of: "_", with: " ") }
        return value.description
    }

    /// The warning for a figure that pools runs, or nil: what it pooled, and how to show it apart.
    func pooledWarning() -> String? {
        guard !pooled.isEmpty else { return nil }
        let what = pooled.map { "\($0.parameter) (\($0.values.prefix(6).joined(separator: ", "))\($0.values.count > 6 ? ", …" : ""))" }
        return "pooled over " + what.joined(separator: "; ") + ": each point is the median over runs that differ in "
            + (pooled.count == 1 ? "it" : "them") + ", and its bars span that difference, not only the repeats. "
            + "Use it as 'series' or 'facet', or fix its value, to show it apart."
    }
}
