/// A position in a YAML file, 1-based.
public struct YAMLMark: Sendable, Equatable {
    public var line: Int
    public var column: Int
    /// Where the text came from when that is not the experiment file being checked: the path of
    /// an `extends` base, or an override such as `override 'steps=abc'` (then line is 0).
    public var source: String?

    public init(line: Int, column: Int, source: String? = nil) {
        self.line = line
        self.column = column
        self.source = source
    }
}

/// A YAML document as a tree that remembers where each node came from.
public indirect enum YAMLNode: Sendable, Equatable {
    /// A scalar; `isQuoted` when it was written in quotes (then it is always a string).
    case scalar(String, isQuoted: Bool, YAMLMark)
    case sequence([YAMLNode], YAMLMark)
    /// Keys in file order (duplicates are refused by the reader).
    case mapping([(key: String, keyMark: YAMLMark, value: YAMLNode)], YAMLMark)

    public var mark: YAMLMark {
        switch self {
        case let .scalar(_, _, mark), let .sequence(_, mark), let .mapping(_, mark): mark
        }
    }

    /// What kind of node it is, for error messages.
    public var kindName: String {
        switch self {
        case .scalar: "a scalar"
        case .sequence: "a list"
        case .mapping: "a mapping"
        }
    }

    public static func == (a: YAMLNode, b: YAMLNode) -> Bool {
        switch (a, b) {
        case let (.scalar(x, q1, m1), .scalar(y, q2, m2)): x == y && q1 == q2 && m1 == m2
        case let (.sequence(x, m1), .sequence(y, m2)): x == y && m1 == m2
        case let (.mapping(x, m1), .mapping(y, m2)):
            m1 == m2 && x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The text of a scalar, for messages that quote it.
    public var scalarText: String? {
        if case let .scalar(text, _, _) = self { return text }
        return nil
    }

    /// The value of `key` in a mapping.
    /// - Complexity: O(keys); callers look up a fixed set of names, never every key.
    public subscript(key: String) -> YAMLNode? {
        guard case let .mapping(entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The same tree with every mark (keys' too) replaced by `mark`: an override's value has
    /// no place in a file, only the override that gave it.
    public func relocated(to mark: YAMLMark) -> YAMLNode {
        switch self {
        case let .scalar(text, quoted, _): .scalar(text, isQuoted: quoted, mark)
        case let .sequence(items, _): .sequence(items.map { $0.relocated(to: mark) }, mark)
        case let .mapping(entries, _): .mapping(entries.map { ($0.key, mark, $0.value.relocated(to: mark)) }, mark)
        }
    }

    /// The same tree with `source` set on every mark that has none (the nodes of an `extends` base).
    func attributed(to source: String) -> YAMLNode {
        func stamp(_ mark: YAMLMark) -> YAMLMark { mark.source == nil ? YAMLMark(line: mark.line, column: mark.column, source: source) : mark }
        switch self {
        case let .scalar(text, quoted, mark): return .scalar(text, isQuoted: quoted, stamp(mark))
        case let .sequence(items, mark): return .sequence(items.map { $0.attributed(to: source) }, stamp(mark))
        case let .mapping(entries, mark):
            return .mapping(entries.map { ($0.key, stamp($0.keyMark), $0.value.attributed(to: source)) }, stamp(mark))
        }
    }
}
