import Experiments

extension ReportSpec {
    /// The keys a figure's `reference` takes.
    public static let referenceKeys = ["label", "points"]

    /// Parses a figure's `reference: {label: TEXT, points: [[x, y], …]}`.
    /// - Throws: `ExperimentError` at the offending node: not a mapping, an unknown key (with the
    ///   nearest known one), a missing or empty label, missing or empty points, a point that is not
    ///   `[x, y]` with two finite numbers.
    static func parseReference(_ node: YAMLNode, figure: String, file: String,
                               fail: (String, YAMLNode) -> ExperimentError) throws(ExperimentError) -> FigureReference {
        let example = "{label: Guo et al. 2024, points: [[1000, 0.78], [10000, 0.81]]}"
        guard case let .mapping(entries, _) = node else {
            throw fail("'reference' of figure '\(figure)' is a mapping such as \(example); this is \(node.kindName)", node)
        }
        try rejectUnknownKeys(entries, allowed: referenceKeys, in: "the reference of figure '\(figure)'", file: file)
        guard let labelNode = node["label"] else {
            throw fail("the reference of figure '\(figure)' needs 'label' (for example label: Guo et al. 2024, d = 256)", node)
        }
        guard case let .scalar(label, _, _) = labelNode, !label.isEmpty else {
            throw fail("reference key 'label' of figure '\(figure)' takes a non-empty scalar (it names the points in the key); "
                       + "this is \(labelNode.kindName)", labelNode)
        }
        guard let pointsNode = node["points"] else {
            throw fail("the reference of figure '\(figure)' needs 'points' (for example points: [[1000, 0.78], [10000, 0.81]])", node)
        }
        guard case let .sequence(items, _) = pointsNode, !items.isEmpty else {
            throw fail("reference key 'points' of figure '\(figure)' takes a non-empty list of [x, y] pairs "
                       + "such as [[1000, 0.78], [10000, 0.81]]; this is \(pointsNode.kindName)", pointsNode)
        }
        var points: [FigureReference.Point] = []
        for item in items {
            guard case let .sequence(pair, _) = item, pair.count == 2, let x = number(pair[0]), let y = number(pair[1]) else {
                throw fail("each reference point of figure '\(figure)' is a list [x, y] of two numbers, such as [1000, 0.78]; "
                           + "this is \(describe(item))", item)
            }
            points.append(FigureReference.Point(x: x, y: y))
        }
        return FigureReference(label: label, points: points)
    }

    /// An unquoted scalar as a finite number (YAML core: `12`, `1.5`, `1e3`), else nil.
    private static func number(_ node: YAMLNode) -> Double? {
        guard case let .scalar(text, false, _) = node, let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// What a malformed point is, for its error message (quotes kept: a quoted number is a string).
    private static func describe(_ node: YAMLNode) -> String {
        switch node {
        case let .sequence(items, _) where items.count != 2: "a list of \(items.count)"
        case let .sequence(items, _):
            "[" + items.map { if case let .scalar(text, quoted, _) = $0 { quoted ? "'\(text)'" : text } else { $0.kindName } }.joined(separator: ", ") + "]"
        default: node.kindName
        }
    }
}
