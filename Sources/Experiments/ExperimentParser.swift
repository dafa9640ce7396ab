import Foundation
import Tasks

/// Checks a merged experiment mapping against the schema and the task kind, with errors that
/// point at the offending line and column.
///
/// Every section is checked even after a problem, so one error lists all of a file's unknown
/// keys, wrong types and bad values (up to `DiagnosticLog.maximumCount`). Each check is O(1)
/// or O(size of its node): suggestions are computed only for keys being reported.
struct ExperimentParser {
    let file: String
    let registry: any TaskCatalog
    private let log: DiagnosticLog

    init(file: String, registry: any TaskCatalog) {
        self.file = file
        self.registry = registry
        self.log = DiagnosticLog(mainFile: file)
    }

    private func fail(_ message: String, at node: YAMLNode) -> ExperimentError { ExperimentError(message, at: node, file: file) }

    private func fail(_ message: String, atKey mark: YAMLMark) -> ExperimentError {
        ExperimentError(file: mark.source ?? file, line: mark.line, column: mark.column, message)
    }

    /// Records each key of the mapping `node` that is not in `allowed`.
    /// - Returns: whether `node` is a mapping.
    @discardableResult
    private func checkKeys(_ node: YAMLNode, allowed: [String], in section: String) throws(ExperimentError) -> Bool {
        guard case let .mapping(entries, _) = node else {
            try log.record(fail("'\(section)' must be a mapping, not \(node.kindName)", at: node))
            return false
        }
        let known = Set(allowed)
        for entry in entries where !known.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(section)"
            if let near = nearest(entry.key, allowed) { message += "; did you mean '\(near)'?" }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            try log.record(fail(message, atKey: entry.keyMark))
        }
        return true
    }

    func parse(_ root: YAMLNode) throws(ExperimentError) -> Experiment {
        guard case .mapping = root else {
            throw fail("an experiment file is a mapping of keys such as name, task and params; this is \(root.kindName)", at: root)
        }
        try checkKeys(root, allowed: ExperimentLoader.topLevelKeys, in: "the experiment")
        let name = try log.attempt { () throws(ExperimentError) -> String in
            guard let nameNode = root["name"] else { throw fail("the experiment needs a 'name'", at: root) }
            let name = try string(nameNode, "name")
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw fail("name '\(name)' must be letters, digits, '-', '_' or '.' (it names directories)", at: nameNode)
            }
            return name
        }
        let found = try log.attempt { () throws(ExperimentError) -> (String, TaskDeclaration, YAMLNode) in
            guard let taskNode = root["task"] else {
                throw fail("the experiment needs a 'task' (one of \(registry.names.joined(separator: ", ")))", at: root)
            }
            let taskName = try string(taskNode, "task")
            do throws(ParameterProblem) { return (taskName, try registry.declaration(named: taskName), taskNode) } catch {
                throw fail("invalid task: \(error)", at: taskNode)
            }
        }
        var experiment = Experiment(
            file: file, name: name ?? "", description: "", task: found?.0 ?? "", params: [], mode: .product, exclude: [],
            rows: nil, random: nil, repeatCount: 1, seed: 0, workers: nil, gang: 0, timeoutSeconds: nil, retries: 0,
            report: root["report"])
        experiment.marks["task"] = found?.2.mark
        if let node = root["description"] { experiment.description = try log.attempt { () throws(ExperimentError) in try string(node, "description") } ?? "" }
        if let node = root["repeat"] {
            experiment.repeatCount = try log.attempt { () throws(ExperimentError) in try integer(node, "repeat", minimum: 1) } ?? 1
            experiment.marks["repeat"] = node.mark
        }
        if let node = root["seed"] { experiment.seed = try log.attempt { () throws(ExperimentError) in try integer(node, "seed", minimum: 0) } ?? 0 }
        if let node = root["max_runs"] {
            experiment.maxRuns = try log.attempt { () throws(ExperimentError) in
                try integer(node, "max_runs", minimum: 1, maximum: SweepSize.ceiling)
            } ?? SweepSize.defaultLimit
            experiment.marks["max_runs"] = node.mark
        }
        if let resources = root["resources"] { try parseResources(resources, into: &experiment) }
        guard let (taskName, kind, taskNode) = found else {
            // Without the kind, parameters cannot be typed; the other sections are checked.
            if let sweep = root["sweep"] { try checkKeys(sweep, allowed: ExperimentLoader.sweepKeys, in: "sweep") }
            try log.finish()
            throw fail("the experiment needs a known 'task'", at: root)      // not reached: the task's problem is logged
        }
        // A gang size that was given but refused has its own problem already.
        if kind.isGang && experiment.gang == 0 && root["resources"]?["gang"] == nil {
            try log.record(fail("task '\(taskName)' runs as a gang: give 'resources: {gang: P}'", at: taskNode))
        }
        if !kind.isGang && experiment.gang > 0 {
            try log.record(fail("task '\(taskName)' runs on one worker; drop resources.gang", at: root["resources"] ?? taskNode))
        }
        if let params = root["params"] { try parseParams(params, into: &experiment, kind: kind) }
        if let sweep = root["sweep"] { try parseSweep(sweep, into: &experiment, kind: kind) }
        try log.finish()
        return experiment
    }

    private func parseResources(_ resources: YAMLNode, into experiment: inout Experiment) throws(ExperimentError) {
        guard try checkKeys(resources, allowed: ExperimentLoader.resourceKeys, in: "resources") else { return }
        if let node = resources["workers"] { experiment.workers = try log.attempt { () throws(ExperimentError) in try integer(node, "resources.workers", minimum: 1, maximum: 4096) } }
        if let node = resources["gang"] { experiment.gang = try log.attempt { () throws(ExperimentError) in try integer(node, "resources.gang", minimum: 1, maximum: 65536) } ?? 0 }
        if let node = resources["retries"] { experiment.retries = try log.attempt { () throws(ExperimentError) in try integer(node, "resources.retries", minimum: 0, maximum: 999) } ?? 0 }
        if let node = resources["timeout"] {
            experiment.timeoutSeconds = try log.attempt { () throws(ExperimentError) -> Double in
                // At most 30 days, the longest attempt timeout a coordinator accepts (the wire's bound).
                guard case let .double(v) = try number(node, "resources.timeout"), v > 0, v <= 30 * 24 * 3600 else {
                    throw fail("resources.timeout must be positive seconds, at most 30 days (2592000)", at: node)
                }
                return v
            }
        }
    }

    private func parseParams(_ params: YAMLNode, into experiment: inout Experiment, kind: TaskDeclaration) throws(ExperimentError) {
        guard case let .mapping(entries, _) = params else {
            try log.record(fail("'params' must be a mapping of name: value", at: params))
            return
        }
        let known = kind.parameters.map(\.name)
        let specs = Dictionary(kind.parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in entries {
            guard let spec = specs[entry.key] else {
                var message = "unknown key '\(entry.key)' in params of task '\(kind.name)'"
                if let near = nearest(entry.key, known) { message += "; did you mean '\(near)'?" }
                message += known.isEmpty ? " (it takes none)" : " (it takes: \(known.joined(separator: ", ")))"
                try log.record(fail(message, atKey: entry.keyMark))
                continue
            }
            // An override's value is placed at the override, not at the file's key it replaced.
            let mark = entry.value.mark.line == 0 && entry.value.mark.source != nil ? entry.value.mark : entry.keyMark
            if let setting = try setting(entry.value, spec: spec) { experiment.params.append((entry.key, setting, mark)) }
        }
    }

    private func parseSweep(_ sweep: YAMLNode, into experiment: inout Experiment, kind: TaskDeclaration) throws(ExperimentError) {
        guard try checkKeys(sweep, allowed: ExperimentLoader.sweepKeys, in: "sweep") else { return }
        if let mode = sweep["mode"] {
            experiment.mode = try log.attempt { () throws(ExperimentError) -> Experiment.SweepMode in
                let text = try string(mode, "sweep.mode")
                guard let value = Experiment.SweepMode(rawValue: text) else {
                    throw fail("sweep.mode '\(text)' is not one of product, zip", at: mode)
                }
                return value
            } ?? .product
        }
        if let exclude = sweep["exclude"] {
            experiment.marks["sweep.exclude"] = exclude.mark
            if case let .sequence(items, _) = exclude {
                for item in items {
                    if let row = try row(item, kind: kind, what: "an exclude entry") { experiment.exclude.append(row) }
                }
            } else {
                try log.record(fail("sweep.exclude is a list of {param: value} mappings", at: exclude))
            }
        }
        if let rows = sweep["rows"] {
            experiment.marks["sweep.rows"] = rows.mark
            var items: [YAMLNode] = []
            if case let .scalar(name, _, _) = rows {
                // A CSV file, relative to this file; its cells' errors point into the CSV.
                let base = URL(fileURLWithPath: rows.mark.source ?? file).deletingLastPathComponent()
                let path = name.hasPrefix("/") ? name : base.appendingPathComponent(name).path
                items = try log.attempt { () throws(ExperimentError) in
                    try CSVRows.read(path, referencedAt: rows, from: rows.mark.source ?? file).map { $0.attributed(to: path) }
                } ?? []
            } else if case let .sequence(list, _) = rows, !list.isEmpty {
                items = list
            } else {
                try log.record(fail("sweep.rows is a non-empty list of {param: value} mappings, or the path of a CSV file", at: rows))
            }
            var parsed: [[String: ParameterValue]] = []
            for item in items {
                if let row = try row(item, kind: kind, what: "a row") { parsed.append(row) }
            }
            if !items.isEmpty { experiment.rows = parsed }
        }
        if let random = sweep["random"], try checkKeys(random, allowed: ["n", "seed"], in: "sweep.random") {
            guard let n = random["n"] else {
                try log.record(fail("sweep.random needs n, the number of runs to sample", at: random))
                return
            }
            experiment.marks["sweep.random.n"] = n.mark
            let count = try log.attempt { () throws(ExperimentError) in try integer(n, "sweep.random.n", minimum: 1) }
            var seed = 0
            if let node = random["seed"] {
                seed = try log.attempt { () throws(ExperimentError) in try integer(node, "sweep.random.seed", minimum: 0) } ?? 0
            }
            if let count { experiment.random = (count, UInt64(seed)) }
        }
    }

    /// A `{param: value}` mapping whose values are typed by the kind; nil (with its problems
    /// recorded) when it is not one.
    private func row(_ node: YAMLNode, kind: TaskDeclaration, what: String) throws(ExperimentError) -> [String: ParameterValue]? {
        guard case let .mapping(entries, _) = node, !entries.isEmpty else {
            try log.record(fail("\(what) is a {param: value} mapping", at: node))
            return nil
        }
        var values: [String: ParameterValue] = [:]
        var isValid = true
        for entry in entries {
            guard let spec = kind.parameters.first(where: { $0.name == entry.key }) else {
                var message = "unknown parameter '\(entry.key)' in \(what)"
                if let near = nearest(entry.key, kind.parameters.map(\.name)) { message += "; did you mean '\(near)'?" }
                try log.record(fail(message, atKey: entry.keyMark))
                isValid = false
                continue
            }
            switch try setting(entry.value, spec: spec) {
            case let .fixed(value)?: values[entry.key] = value
            case nil: isValid = false
            default:
                try log.record(fail("\(what) gives one value per parameter", at: entry.value))
                isValid = false
            }
        }
        return isValid ? values : nil
    }

    /// A parameter's value: a scalar, a list to sweep, or `{min, max}` for random sampling; nil
    /// (with its problems recorded) when it is none of these.
    private func setting(_ node: YAMLNode, spec: ParameterSpec) throws(ExperimentError) -> ParameterSetting? {
        switch node {
        case .scalar:
            return try log.attempt { () throws(ExperimentError) in .fixed(try typed(node, spec: spec)) }
        case let .sequence(items, _):
            guard !items.isEmpty else {
                try log.record(fail("parameter '\(spec.name)' sweeps an empty list: give at least one value", at: node))
                return nil
            }
            var values: [ParameterValue] = []
            values.reserveCapacity(items.count)
            for item in items {
                if let value = try log.attempt({ () throws(ExperimentError) in try typed(item, spec: spec) }) { values.append(value) }
            }
            return values.count == items.count ? .list(values) : nil
        case .mapping:
            return try log.attempt { () throws(ExperimentError) -> ParameterSetting in
                guard try checkKeys(node, allowed: ["min", "max"], in: "the range of '\(spec.name)'"),
                      spec.type == .int || spec.type == .double, let low = node["min"], let high = node["max"] else {
                    throw fail("a range {min, max} is for numeric parameters, and needs both bounds", at: node)
                }
                guard case let .double(a) = try number(low, "min"), case let .double(b) = try number(high, "max"), a <= b else {
                    throw fail("range of '\(spec.name)' needs min ≤ max", at: node)
                }
                for (bound, value) in [(low, a), (high, b)] {
                    if let problem = spec.problem(with: .double(value)) { throw fail(problem, at: bound) }
                    // Sampled as a double and rounded: past 2^53 the integers are not all there,
                    // and near 2^63 the rounded sample would not fit an Int.
                    if spec.type == .int && abs(value) > 9_007_199_254_740_992 {
                        throw fail("the range of '\(spec.name)' must lie within ±2^53 (9007199254740992) to be sampled", at: bound)
                    }
                }
                return .range(min: a, max: b, isInteger: spec.type == .int)
            }
        }
    }

    /// A scalar converted to the parameter's declared type and checked against its spec
    /// (finite, in range, one of its choices).
    private func typed(_ node: YAMLNode, spec: ParameterSpec) throws(ExperimentError) -> ParameterValue {
        guard case let .scalar(text, quoted, _) = node else {
            throw fail("parameter '\(spec.name)' takes one \(spec.type.rawValue) here, not \(node.kindName)", at: node)
        }
        let raw: ParameterValue = quoted ? .string(text) : ExperimentParser.plain(text)
        guard let value = spec.coerce(raw) else { throw fail(spec.typeProblem(with: .string(text)), at: node) }
        if let problem = spec.problem(with: value) { throw fail(problem, at: node) }
        return value
    }

    /// A plain scalar as YAML 1.2 core types read it: int, float, bool, else string.
    static func plain(_ text: String) -> ParameterValue {
        if let int = Int(text) { return .int(int) }
        if let double = Double(text), text.contains(where: { ".eE".contains($0) }), double.isFinite { return .double(double) }
        if ["true", "True", "TRUE"].contains(text) { return .bool(true) }
        if ["false", "False", "FALSE"].contains(text) { return .bool(false) }
        return .string(text)
    }

    private func string(_ node: YAMLNode, _ what: String) throws(ExperimentError) -> String {
        guard case let .scalar(text, _, _) = node else { throw fail("'\(what)' must be text, not \(node.kindName)", at: node) }
        return text
    }

    /// A whole number, written plainly (`1000000`) or as an exact float (`1e6`).
    private func integer(_ node: YAMLNode, _ what: String, minimum: Int, maximum: Int = .max) throws(ExperimentError) -> Int {
        guard case let .scalar(text, quoted, _) = node, !quoted,
              let value = Int(text) ?? Double(text).flatMap({ $0.rounded() == $0 && abs($0) < 9e15 ? Int($0) : nil }) else {
            throw fail("'\(what)' must be a whole number" + (node.scalarText.map { "; got '\($0)'" } ?? ""), at: node)
        }
        guard value >= minimum else { throw fail("'\(what)' must be at least \(minimum), got \(value)", at: node) }
        guard value <= maximum else { throw fail("'\(what)' must be at most \(maximum), got \(value)", at: node) }
        return value
    }

    private func number(_ node: YAMLNode, _ what: String) throws(ExperimentError) -> ParameterValue {
        guard case let .scalar(text, quoted, _) = node, !quoted, let value = Double(text), value.isFinite else {
            throw fail("'\(what)' must be a finite number" + (node.scalarText.map { "; got '\($0)'" } ?? ""), at: node)
        }
        return .double(value)
    }

    private func nearest(_ word: String, _ names: [String]) -> String? {
        nearestName(to: word, among: names)
    }
}
