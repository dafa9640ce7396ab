import Foundation
import Cluster

/// Checks a merged experiment mapping against the schema and the task kind, with errors that
/// point at the offending line and column.
struct ExperimentParser {
    let file: String
    let registry: TaskRegistry

    private func fail(_ message: String, at node: YAMLNode) -> ExperimentError { ExperimentError(message, at: node, file: file) }

    private func checkKeys(_ node: YAMLNode, allowed: [String], in section: String) throws(ExperimentError) {
        guard case let .mapping(entries, _) = node else { throw fail("'\(section)' must be a mapping, not \(node.kindName)", at: node) }
        for entry in entries where !allowed.contains(entry.key) {
            var message = "unknown key '\(entry.key)' in \(section)"
            if let near = nearest(entry.key, allowed) { message += "; did you mean '\(near)'?" }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            throw ExperimentError(file: file, line: entry.keyMark.line, column: entry.keyMark.column, message)
        }
    }

    func parse(_ root: YAMLNode) throws(ExperimentError) -> Experiment {
        try checkKeys(root, allowed: ExperimentLoader.topLevelKeys, in: "the experiment")
        guard let nameNode = root["name"] else { throw fail("the experiment needs a 'name'", at: root) }
        let name = try string(nameNode, "name")
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw fail("name '\(name)' must be letters, digits, '-', '_' or '.' (it names directories)", at: nameNode)
        }
        guard let taskNode = root["task"] else { throw fail("the experiment needs a 'task' (one of \(registry.names.joined(separator: ", ")))", at: root) }
        let taskName = try string(taskNode, "task")
        let kind: TaskKind
        do throws(ClusterError) { kind = try registry.kind(named: taskName) } catch { throw fail("\(error)", at: taskNode) }
        var experiment = Experiment(
            file: file, name: name, description: "", task: taskName, params: [], mode: .product, exclude: [], rows: nil,
            random: nil, repeatCount: 1, seed: 0, workers: nil, gang: 0, timeoutSeconds: nil, retries: 0, report: root["report"])
        if let node = root["description"] { experiment.description = try string(node, "description") }
        if let node = root["repeat"] { experiment.repeatCount = try integer(node, "repeat", minimum: 1) }
        if let node = root["seed"] { experiment.seed = try integer(node, "seed", minimum: 0) }
        if let resources = root["resources"] {
            try checkKeys(resources, allowed: ExperimentLoader.resourceKeys, in: "resources")
            if let node = resources["workers"] { experiment.workers = try integer(node, "resources.workers", minimum: 1) }
            if let node = resources["gang"] { experiment.gang = try integer(node, "resources.gang", minimum: 1) }
            if let node = resources["retries"] { experiment.retries = try integer(node, "resources.retries", minimum: 0) }
            if let node = resources["timeout"] {
                guard case let .double(v) = try number(node, "resources.timeout"), v > 0 else { throw fail("resources.timeout must be positive seconds", at: node) }
                experiment.timeoutSeconds = v
            }
        }
        if kind.isGang && experiment.gang == 0 {
            throw fail("task '\(taskName)' runs as a gang: give 'resources: {gang: P}'", at: taskNode)
        }
        if !kind.isGang && experiment.gang > 0 {
            throw fail("task '\(taskName)' runs on one worker; drop resources.gang", at: root["resources"] ?? taskNode)
        }
        if let params = root["params"] {
            guard case let .mapping(entries, _) = params else { throw fail("'params' must be a mapping of name: value", at: params) }
            let known = kind.parameters.map(\.name)
            for entry in entries {
                guard let spec = kind.parameters.first(where: { $0.name == entry.key }) else {
                    var message = "unknown key '\(entry.key)' in params of task '\(taskName)'"
                    if let near = nearest(entry.key, known) { message += "; did you mean '\(near)'?" }
                    message += known.isEmpty ? " (it takes none)" : " (it takes: \(known.joined(separator: ", ")))"
                    throw ExperimentError(file: file, line: entry.keyMark.line, column: entry.keyMark.column, message)
                }
                experiment.params.append((entry.key, try setting(entry.value, spec: spec), entry.keyMark))
            }
        }
        if let sweep = root["sweep"] { try parseSweep(sweep, into: &experiment, kind: kind) }
        return experiment
    }

    private func parseSweep(_ sweep: YAMLNode, into experiment: inout Experiment, kind: TaskKind) throws(ExperimentError) {
        try checkKeys(sweep, allowed: ExperimentLoader.sweepKeys, in: "sweep")
        if let mode = sweep["mode"] {
            let text = try string(mode, "sweep.mode")
            guard let value = Experiment.SweepMode(rawValue: text) else {
                throw fail("sweep.mode '\(text)' is not one of product, zip", at: mode)
            }
            experiment.mode = value
        }
        if let exclude = sweep["exclude"] {
            guard case let .sequence(items, _) = exclude else { throw fail("sweep.exclude is a list of {param: value} mappings", at: exclude) }
            for item in items { experiment.exclude.append(try row(item, kind: kind, what: "an exclude entry")) }
        }
        if let rows = sweep["rows"] {
            var parsed: [[String: ParameterValue]] = []
            if case let .scalar(name, _, _) = rows {
                // A CSV file, relative to this file; its cells' errors point into the CSV.
                let base = URL(fileURLWithPath: file).deletingLastPathComponent()
                let path = name.hasPrefix("/") ? name : base.appendingPathComponent(name).path
                let csv = ExperimentParser(file: path, registry: registry)
                for item in try CSVRows.read(path, referencedAt: rows, from: file) { parsed.append(try csv.row(item, kind: kind, what: "a row")) }
            } else {
                guard case let .sequence(items, _) = rows, !items.isEmpty else {
                    throw fail("sweep.rows is a non-empty list of {param: value} mappings, or the path of a CSV file", at: rows)
                }
                for item in items { parsed.append(try row(item, kind: kind, what: "a row")) }
            }
            experiment.rows = parsed
        }
        if let random = sweep["random"] {
            try checkKeys(random, allowed: ["n", "seed"], in: "sweep.random")
            guard let n = random["n"] else { throw fail("sweep.random needs n, the number of runs to sample", at: random) }
            var seed = 0
            if let node = random["seed"] { seed = try integer(node, "sweep.random.seed", minimum: 0) }
            experiment.random = (try integer(n, "sweep.random.n", minimum: 1), UInt64(seed))
        }
    }

    /// A `{param: value}` mapping whose values are typed by the kind.
    func row(_ node: YAMLNode, kind: TaskKind, what: String) throws(ExperimentError) -> [String: ParameterValue] {
        guard case let .mapping(entries, _) = node, !entries.isEmpty else { throw fail("\(what) is a {param: value} mapping", at: node) }
        var values: [String: ParameterValue] = [:]
        for entry in entries {
            guard let spec = kind.parameters.first(where: { $0.name == entry.key }) else {
                var message = "unknown parameter '\(entry.key)' in \(what)"
                if let near = nearest(entry.key, kind.parameters.map(\.name)) { message += "; did you mean '\(near)'?" }
                throw ExperimentError(file: file, line: entry.keyMark.line, column: entry.keyMark.column, message)
            }
            guard case let .fixed(value) = try setting(entry.value, spec: spec) else {
                throw fail("\(what) gives one value per parameter", at: entry.value)
            }
            values[entry.key] = value
        }
        return values
    }

    /// A parameter's value: a scalar, a list to sweep, or `{min, max}` for random sampling.
    private func setting(_ node: YAMLNode, spec: ParameterSpec) throws(ExperimentError) -> ParameterSetting {
        switch node {
        case .scalar:
            return .fixed(try typed(node, spec: spec))
        case let .sequence(items, _):
            guard !items.isEmpty else { throw fail("parameter '\(spec.name)' sweeps an empty list: give at least one value", at: node) }
            var values: [ParameterValue] = []
            for item in items { values.append(try typed(item, spec: spec)) }
            return .list(values)
        case .mapping:
            try checkKeys(node, allowed: ["min", "max"], in: "the range of '\(spec.name)'")
            guard spec.type == .int || spec.type == .double, let low = node["min"], let high = node["max"] else {
                throw fail("a range {min, max} is for numeric parameters, and needs both bounds", at: node)
            }
            guard case let .double(a) = try number(low, "min"), case let .double(b) = try number(high, "max"), a <= b else {
                throw fail("range of '\(spec.name)' needs min ≤ max", at: node)
            }
            return .range(min: a, max: b, isInteger: spec.type == .int)
        }
    }

    /// A scalar converted to the parameter's declared type.
    private func typed(_ node: YAMLNode, spec: ParameterSpec) throws(ExperimentError) -> ParameterValue {
        guard case let .scalar(text, quoted, _) = node else {
            throw fail("parameter '\(spec.name)' takes one \(spec.type.rawValue) here, not \(node.kindName)", at: node)
        }
        let raw: ParameterValue = quoted ? .string(text) : ExperimentParser.plain(text)
        guard let value = spec.coerce(raw) else {
            throw fail("parameter '\(spec.name)' must be \(spec.type.rawValue); got '\(text)'", at: node)
        }
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

    private func integer(_ node: YAMLNode, _ what: String, minimum: Int) throws(ExperimentError) -> Int {
        guard case let .scalar(text, quoted, _) = node, !quoted, let value = Int(text) else {
            throw fail("'\(what)' must be a whole number", at: node)
        }
        guard value >= minimum else { throw fail("'\(what)' must be at least \(minimum), got \(value)", at: node) }
        return value
    }

    private func number(_ node: YAMLNode, _ what: String) throws(ExperimentError) -> ParameterValue {
        guard case let .scalar(text, quoted, _) = node, !quoted, let value = Double(text), value.isFinite else {
            throw fail("'\(what)' must be a number", at: node)
        }
        return .double(value)
    }

    private func nearest(_ word: String, _ names: [String]) -> String? {
        nearestName(to: word, among: names)
    }
}
