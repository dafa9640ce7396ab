/// A user-query phrasing with slots: `{a}` `{b}` (ADD numbers), `{s}` (a word), `{c}` (a letter),
/// `{k}` (a FACT key), `{x}` (in chain templates, the inner phrase).
public struct QueryTemplate: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let domain: Domain
    public let split: Split
    /// The phrasing with slots, e.g. `flip the word '{s}' around`.
    public let pattern: String
    /// A stable name, `ADD.train.0`, used in statistics.
    public let identifier: String

    public var description: String { identifier }

    /// The pattern cut into literals and slots once, so matching many queries stays cheap.
    let pieces: [Piece]

    public init(domain: Domain, split: Split, pattern: String, identifier: String) {
        self.domain = domain
        self.split = split
        self.pattern = pattern
        self.identifier = identifier
        pieces = Self.pieces(of: pattern)
    }

    /// The pattern with each slot replaced by its value.
    public func filled(_ values: [Character: String]) -> String {
        pieces.map { piece in
            switch piece {
            case let .literal(scalars): String(String.UnicodeScalarView(scalars))
            case let .slot(name): values[name] ?? "{\(name)}"
            }
        }.joined()
    }

    /// Whether `body` could come from this template: literals equal, each slot one or more of
    /// a–z 0–9 (slot values never hold spaces or quotes). Used to prove the splits disjoint.
    public func matches(_ body: String) -> Bool {
        Self.match(pieces[...], Array(body.unicodeScalars)[...])
    }

    enum Piece: Hashable { case literal([Unicode.Scalar]), slot(Character) }

    static func pieces(of pattern: String) -> [Piece] {
        var result: [Piece] = []
        var literal = ""
        var rest = Substring(pattern)
        while let first = rest.first {
            if first == "{", rest.count >= 3, rest.dropFirst(2).first == "}", let name = rest.dropFirst().first {
                if !literal.isEmpty { result.append(.literal(Array(literal.unicodeScalars))); literal = "" }
                result.append(.slot(name))
                rest = rest.dropFirst(3)
            } else {
                literal.append(first)
                rest = rest.dropFirst()
            }
        }
        if !literal.isEmpty { result.append(.literal(Array(literal.unicodeScalars))) }
        return result
    }

    private static func match(_ pieces: ArraySlice<Piece>, _ text: ArraySlice<Unicode.Scalar>) -> Bool {
        guard let piece = pieces.first else { return text.isEmpty }
        switch piece {
        case let .literal(scalars):
            guard text.starts(with: scalars) else { return false }
            return match(pieces.dropFirst(), text.dropFirst(scalars.count))
        case .slot:
            var end = text.startIndex
            while end < text.endIndex, isSlotScalar(text[end]) {
                end += 1
                if match(pieces.dropFirst(), text[end...]) { return true }
            }
            return false
        }
    }

    private static func isSlotScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar)
    }
}
