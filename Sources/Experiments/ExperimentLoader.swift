import Cluster
import Foundation

/// Reads an experiment file (following `extends:`), applies command-line overrides, and checks
/// everything against the task kind's declared parameters before anything runs.
public enum ExperimentLoader {
    static let topLevelKeys = ["name", "description", "task", "params", "sweep", "repeat", "seed", "resources", "report", "extends"]
    static let sweepKeys = ["mode", "exclude", "rows", "random"]
    static let resourceKeys = ["workers", "gang", "timeout", "retries"]

    /// Loads `path` with `overrides` (`key=value`, `key=[a,b]`; a key that is not a top-level
    /// key is a parameter), checked against `registry`.
    public static func load(_ path: String, overrides: [String] = [], registry: TaskRegistry) throws(ExperimentError) -> Experiment {
        var root = try resolveExtends(path, chain: [])
        for override in overrides { root = try apply(override, to: root) }
        return try ExperimentParser(file: path, registry: registry).parse(root)
    }

    /// The file's mapping with every `extends:` base merged under it (the file wins; `params`,
    /// `sweep` and `resources` merge key by key).
    static func resolveExtends(_ path: String, chain: [String]) throws(ExperimentError) -> YAMLNode {
        let canonical = URL(fileURLWithPath: path).standardizedFileURL.path
        if chain.contains(canonical) {
            throw ExperimentError(file: path, line: 1, column: 1,
                                  "circular 'extends': " + (chain + [canonical]).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: " → "))
        }
        let node = try YAMLReader.parse(contentsOf: path)
        guard case let .mapping(entries, mark) = node else {
            throw ExperimentError("an experiment file is a mapping of keys such as name, task and params; this is \(node.kindName)",
                                  at: node, file: path)
        }
        guard let base = entries.first(where: { $0.key == "extends" }) else { return node }
        guard case let .scalar(relative, _, baseMark) = base.value, !relative.isEmpty else {
            throw ExperimentError("'extends' takes the path of another experiment file", at: base.value, file: path)
        }
        let basePath = URL(fileURLWithPath: relative, relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent()).path
        let parent: YAMLNode
        do { parent = try resolveExtends(basePath, chain: chain + [canonical]) } catch {
            if error.line == 0 {
                throw ExperimentError(file: path, line: baseMark.line, column: baseMark.column, "extends \(relative): \(error.message)")
            }
            throw error
        }
        return merge(parent, under: .mapping(entries.filter { $0.key != "extends" }, mark))
    }

    static func merge(_ base: YAMLNode, under child: YAMLNode) -> YAMLNode {
        guard case let .mapping(baseEntries, _) = base, case let .mapping(childEntries, mark) = child else { return child }
        var merged = baseEntries
        for entry in childEntries {
            if let index = merged.firstIndex(where: { $0.key == entry.key }) {
                let deep = ["params", "sweep", "resources"].contains(entry.key)
                merged[index] = (entry.key, entry.keyMark, deep ? merge(merged[index].value, under: entry.value) : entry.value)
            } else {
                merged.append(entry)
            }
        }
        return .mapping(merged, mark)
    }

    /// Applies one `key=value` override; the value is read as YAML (`[a, b]` is a list).
    static func apply(_ override: String, to root: YAMLNode) throws(ExperimentError) -> YAMLNode {
        let where_ = "command line"
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw ExperimentError(file: where_, line: 0, column: 0, "override '\(override)' is not key=value (e.g. seq_len=4096 or heads=[4,8])")
        }
        let key = String(override[..<equals])
        let value = try YAMLReader.parse(Array(override[override.index(after: equals)...].utf8), file: "override \(key)")
        let mark = YAMLMark(line: 0, column: 0)
        let path = key.split(separator: ".").map(String.init)
        let nested: [String]
        if path.count == 1 && !topLevelKeys.contains(key) { nested = ["params", key] } else { nested = path }
        func set(_ node: YAMLNode, _ path: ArraySlice<String>) -> YAMLNode {
            guard let first = path.first else { return value }
            var entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)] = []
            var nodeMark = mark
            if case let .mapping(existing, existingMark) = node { entries = existing; nodeMark = existingMark }
            if let index = entries.firstIndex(where: { $0.key == first }) {
                entries[index].value = set(entries[index].value, path.dropFirst())
            } else {
                entries.append((first, mark, set(.mapping([], mark), path.dropFirst())))
            }
            return .mapping(entries, nodeMark)
        }
        return set(root, nested[...])
    }
}
