/// A position in a YAML file, 1-based.
public struct YAMLMark: Sendable, Equatable {
    public var line: Int
    public var column: Int
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

    /// The value of `key` in a mapping.
    public subscript(key: String) -> YAMLNode? {
        guard case let .mapping(entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }
}
