/// The metrics a process knows, from every registered kind's declaration: how reports, tables
/// and exports find a metric's label and unit by the name stored with a run.
///
/// A declared name may hold `*` for one dot-free part, so a family of per-layer or per-head
/// metrics (`L*.H*.sink_logit_margin`) is declared once; a concrete name (`L0.H1.sink_logit_margin`)
/// then takes the family's label with its own parts (`L0.H1`) added.
public struct MetricCatalog: Sendable {
    private var exact: [String: MetricSpec] = [:]
    private var families: [MetricSpec] = []

    /// A catalog of `specs`; of two specs with one name, the first is kept.
    public init(_ specs: [MetricSpec] = []) {
        for spec in specs {
            if spec.name.contains("*") {
                if !families.contains(where: { $0.name == spec.name }) { families.append(spec) }
            } else if exact[spec.name] == nil {
                exact[spec.name] = spec
            }
        }
    }

    /// The declaration of `name`, with a family's label completed by the matched parts. A gang's
    /// merged result names each rank's metrics `rank<r>.<name>`; those take `<name>`'s label.
    public func spec(for name: String) -> MetricSpec? {
        if let spec = exact[name] { return spec }
        if let dot = name.firstIndex(of: "."), name.hasPrefix("rank"),
           let rank = Int(name[name.index(name.startIndex, offsetBy: 4)..<dot]), rank >= 0,
           let own = spec(for: String(name[name.index(after: dot)...])) {
            return MetricSpec(name, "\(own.label), rank \(rank)", unit: own.unit, stepped: own.isStepped)
        }
        for family in families {
            guard let parts = MetricCatalog.match(pattern: family.name, name: name) else { continue }
            let label = parts.isEmpty ? family.label : "\(family.label), \(parts.joined(separator: "."))"
            return MetricSpec(name, label, unit: family.unit, stepped: family.isStepped)
        }
        return nil
    }

    /// `label (unit)` for a declared metric, else the name as stored.
    public func axisTitle(for name: String) -> String { spec(for: name)?.axisTitle ?? name }

    /// Every declared name (families with their `*`), sorted: for suggestions and listings.
    public var names: [String] { (Array(exact.keys) + families.map(\.name)).sorted() }

    /// The concrete parts a `*` pattern matched in `name` (dot-separated, same count), or nil.
    private static func match(pattern: String, name: String) -> [String]? {
        let want = pattern.split(separator: ".", omittingEmptySubsequences: false)
        let have = name.split(separator: ".", omittingEmptySubsequences: false)
        guard want.count == have.count else { return nil }
        var parts: [String] = []
        for (p, h) in zip(want, have) {
            guard let star = p.firstIndex(of: "*") else {
                if p != h { return nil }
                continue
            }
            let prefix = p[..<star], suffix = p[p.index(after: star)...]
            guard h.count > prefix.count + suffix.count, h.hasPrefix(prefix), h.hasSuffix(suffix) else { return nil }
            parts.append(String(h))
        }
        return parts
    }
}
