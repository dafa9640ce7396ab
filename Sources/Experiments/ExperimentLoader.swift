import Foundation
import Tasks

/// Reads an experiment file (following `extends:`), applies command-line overrides, and checks
/// everything against the task kind's declared parameters before anything runs.
public enum ExperimentLoader {
    static let topLevelKeys = ["name", "description", "task", "params", "sweep", "repeat", "seed", "max_runs", "resources", "report",
                               "extends"]
    static let sweepKeys = ["mode", "exclude", "rows", "random"]
    static let resourceKeys = ["workers", "gang", "timeout", "retries"]

    /// Loads `path` with `overrides` (`key=value`, `key=[a,b]`; a key that is not a top-level
    /// key is a parameter), checked against `registry`.
    public static func load(_ path: String, overrides: [String] = [], registry: any TaskCatalog) throws(ExperimentError) -> Experiment {
        var root = try resolveExtends(path, chain: [])
        var problems: [ExperimentError.Diagnostic] = []       // every malformed override at once
        for override in overrides {
            do throws(ExperimentError) { root = try apply(override, to: root) } catch { problems += error.diagnostics }
        }
        guard problems.isEmpty else { throw ExperimentError(problems) }
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
        // The base's nodes keep the base's path, so a problem there is reported in the base.
        return merge(parent.attributed(to: basePath), under: .mapping(entries.filter { $0.key != "extends" }, mark), deep: true)
    }

    /// `child`'s keys over `base`'s; at the top (`deep`), `params`, `sweep` and `resources`
    /// merge key by key.
    /// - Complexity: O(base keys + child keys), with an index of the base's keys.
    static func merge(_ base: YAMLNode, under child: YAMLNode, deep: Bool = false) -> YAMLNode {
        guard case let .mapping(baseEntries, _) = base, case let .mapping(childEntries, mark) = child else { return child }
        var merged = baseEntries
        var index = Dictionary(merged.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in childEntries {
            if let at = index[entry.key] {
                let nested = deep && ["params", "sweep", "resources"].contains(entry.key)
                merged[at] = (entry.key, entry.keyMark, nested ? merge(merged[at].value, under: entry.value) : entry.value)
            } else {
                index[entry.key] = merged.count
                merged.append(entry)
            }
        }
        return .mapping(merged, mark)
    }

    /// Applies one `key=value` override; the value is read as YAML (`[a, b]` is a list). Its
    /// nodes are placed at `override 'key=value'`, so problems with it name the override.
    /// - Throws: a malformed override, YAML it cannot be read as, or `extends`, which only a
    ///   file can give (the base is merged before overrides apply).
    static func apply(_ override: String, to root: YAMLNode) throws(ExperimentError) -> YAMLNode {
        let place = "override '\(override)'"
        guard let equals = override.firstIndex(of: "="), equals != override.startIndex else {
            throw ExperimentError(file: place, line: 0, column: 0, "an override is key=value (e.g. seq_len=4096 or heads=[4,8])")
        }
        let key = String(override[..<equals])
        let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.contains(where: \.isEmpty) else {
            throw ExperimentError(file: place, line: 0, column: 0, "'\(key)' has an empty part; write a key such as steps or sweep.mode")
        }
        if path[0] == "extends" {
            throw ExperimentError(file: place, line: 0, column: 0,
                                  "'extends' cannot be overridden; write 'extends: PATH' in the file, or run the base file with overrides")
        }
        guard equals != override.index(before: override.endIndex) else {
            throw ExperimentError(file: place, line: 0, column: 0, "give a value after '=' (e.g. \(key)=4 or \(key)=[1,2])")
        }
        let mark = YAMLMark(line: 0, column: 0, source: place)
        let value: YAMLNode
        do throws(ExperimentError) {
            value = try YAMLReader.parse(Array(override[override.index(after: equals)...].utf8), file: place).relocated(to: mark)
        } catch {
            throw ExperimentError(file: place, line: 0, column: 0, "the value is not YAML: \(error.message)")
        }
        let nested = path.count == 1 && !topLevelKeys.contains(key) ? ["params", key] : path
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
