import Experiments
import Tasks

/// The figures an experiment file asks for in its `report:` section (docs/experiments.md).
public struct ReportSpec: Sendable, Equatable {
    /// The figures, in file order.
    public var figures: [FigureSpec]

    /// A report with these figures.
    public init(figures: [FigureSpec] = []) { self.figures = figures }

    /// The keys a figure takes.
    public static let figureKeys = ["name", "kind", "x", "y", "series", "facet", "logx", "logy", "title", "xlabel", "ylabel", "reference", "size", "minimize", "maximize"]

    /// At most this many metrics in one figure's `y` list (each is a line and a key entry).
    public static let maximumMetrics = 8

    /// Parses an experiment's `report:` node, as kept in `Experiment.report`.
    ///
    /// Any x or y name is accepted (metrics are not declared anywhere before a run), but `series`
    /// and `facet` must be parameters, since they split runs by parameter values; so must a
    /// `winner` figure's x and y, its columns and rows (`parseObjective`).
    /// - Parameters:
    ///   - node: the `report:` value; nil or an empty list means no figures.
    ///   - file: the experiment file, for error messages.
    ///   - parameters: the experiment's parameter names (declared by its task kind or set in the file).
    /// - Returns: the figures.
    /// - Throws: `ExperimentError` at the offending node's line and column, with the fix: an unknown
    ///   key (with the nearest known one), a missing or malformed value (including a `reference`), a duplicate figure name.
    public static func parse(_ node: YAMLNode?, file: String, parameters: Set<String>) throws(ExperimentError) -> ReportSpec {
        guard let node else { return ReportSpec() }
        func fail(_ message: String, at node: YAMLNode) -> ExperimentError {
            ExperimentError(file: file, line: node.mark.line, column: node.mark.column, message)
        }
        guard case let .sequence(items, _) = node else {
            if case let .scalar(text, isQuoted: false, _) = node, text.isEmpty || text == "null" || text == "~" { return ReportSpec() }
            throw fail("'report' is a list of figures, each a mapping such as {name: speed, x: n, y: gflops}; this is \(node.kindName)",
                       at: node)
        }
        var figures: [FigureSpec] = []
        for item in items {
            let figure = try parseFigure(item, file: file, parameters: parameters, fail: fail)
            if figures.contains(where: { $0.name == figure.name }) {
                throw fail("two figures are named '\(figure.name)'; each name must be unique (it names the files)", at: item["name"] ?? item)
            }
            figures.append(figure)
        }
        return ReportSpec(figures: figures)
    }

    private static func parseFigure(_ item: YAMLNode, file: String, parameters: Set<String>,
                                    fail: (String, YAMLNode) -> ExperimentError) throws(ExperimentError) -> FigureSpec {
        guard case let .mapping(entries, _) = item else {
            throw fail("each figure in 'report' is a mapping such as {name: speed, x: n, y: gflops}; this is \(item.kindName)", item)
        }
        try rejectUnknownKeys(entries, allowed: figureKeys, in: "a report figure", file: file)
        func text(_ key: String) throws(ExperimentError) -> String? {
            guard let value = item[key] else { return nil }
            guard case let .scalar(text, _, _) = value, !text.isEmpty else {
                throw fail("report figure key '\(key)' takes a non-empty scalar; this is \(value.kindName)", value)
            }
            return text
        }
        func flag(_ key: String) throws(ExperimentError) -> Bool {
            guard let value = item[key] else { return false }
            guard case let .scalar(text, false, _) = value, text == "true" || text == "false" else {
                throw fail("report figure key '\(key)' takes true or false", value)
            }
            return text == "true"
        }
        func required(_ key: String, _ example: String) throws(ExperimentError) -> String {
            guard let value = try text(key) else { throw fail("a report figure needs '\(key)' (for example \(key): \(example))", item) }
            return value
        }
        let name = try required("name", "gflops-vs-n")
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw fail("figure name '\(name)' must be letters, digits, '-' or '_' (it names the figure's files)", item["name"]!)
        }
        var kind = FigureSpec.Kind.line
        if let kindNode = item["kind"], let kindName = try text("kind") {
            guard let value = FigureSpec.Kind(rawValue: kindName) else {
                var message = "figure kind '\(kindName)' is not one of \(FigureSpec.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                if let near = nearestName(to: kindName, among: FigureSpec.Kind.allCases.map(\.rawValue)) { message += "; did you mean '\(near)'?" }
                throw fail(message, kindNode)
            }
            kind = value
        }
        var size: FigureSize?
        if let sizeNode = item["size"], let sizeName = try text("size") {
            guard let value = FigureSize(rawValue: sizeName) else {
                throw fail("figure size '\(sizeName)' is not one of \(FigureSize.allCases.map(\.rawValue).joined(separator: ", ")) "
                           + "(single: one paper column, 3.4 in; double: the page width, 7 in; slide: 10 in)", sizeNode)
            }
            size = value
        }
        let ys = try metrics(item, figure: name, fail: fail)
        var figure = FigureSpec(name: name, kind: kind, x: try required("x", "n"), y: ys[0],
                                series: try text("series"), facet: try text("facet"), logX: try flag("logx"), logY: try flag("logy"),
                                title: try text("title"), xLabel: try text("xlabel"), yLabel: try text("ylabel"),
                                reference: try item["reference"].map { node throws(ExperimentError) in
                                    try parseReference(node, figure: name, file: file, fail: fail)
                                }, alsoY: Array(ys.dropFirst()), size: size)
        if figure.alsoY.count > 0, figure.series != nil {
            throw fail("figure '\(name)' draws several metrics, and each is already a series; drop 'series' (or use 'facet' for '\(figure.series!)')",
                       item["series"]!)
        }
        for key in ["series", "facet"] {
            guard let parameter = key == "series" ? figure.series : figure.facet, !parameters.contains(parameter) else { continue }
            var message = "\(key) '\(parameter)' of figure '\(name)' is not a parameter of this experiment"
            if let near = nearestName(to: parameter, among: parameters.sorted()) { message += "; did you mean '\(near)'?" }
            message += " (\(key) splits runs by a parameter's values; parameters: \(parameters.sorted().joined(separator: ", ")))"
            throw fail(message, item[key]!)
        }
        if figure.series != nil && figure.series == figure.facet {
            throw fail("figure '\(name)' uses '\(figure.series!)' for both series and facet; pick one", item["facet"]!)
        }
        figure.objective = try parseObjective(item, figure: figure, parameters: parameters, fail: fail)
        return figure
    }
}

extension ReportSpec {
    /// A figure's `y`: one name, or a list of 1…`maximumMetrics` distinct names.
    static func metrics(_ item: YAMLNode, figure: String, fail: (String, YAMLNode) -> ExperimentError) throws(ExperimentError) -> [String] {
        guard let node = item["y"] else { throw fail("a report figure needs 'y' (for example y: gflops, or y: [value_drain, value_others])", item) }
        switch node {
        case let .scalar(text, _, _) where !text.isEmpty:
            return [text]
        case let .sequence(items, _) where !items.isEmpty && items.count <= maximumMetrics:
            var names: [String] = []
            for entry in items {
                guard case let .scalar(text, _, _) = entry, !text.isEmpty else {
                    throw fail("each metric in the 'y' list of figure '\(figure)' is a name; this is \(entry.kindName)", entry)
                }
                guard !names.contains(text) else { throw fail("figure '\(figure)' lists metric '\(text)' twice in 'y'", entry) }
                names.append(text)
            }
            return names
        default:
            throw fail("'y' of figure '\(figure)' takes a metric name or a list of 1 to \(maximumMetrics) names, "
                       + "such as [value_drain, value_others]; this is \(node.kindName)", node)
        }
    }

    /// Throws at the first key not in `allowed`, suggesting the nearest allowed one.
    static func rejectUnknownKeys(_ entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)], allowed: [String], in place: String,
                                  file: String) throws(ExperimentError) {
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(place)"
            if let near = nearestName(to: entry.key, among: allowed) { message += "; did you mean '\(near)'?" }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            throw ExperimentError(file: file, line: entry.keyMark.line, column: entry.keyMark.column, message)
        }
    }
}
