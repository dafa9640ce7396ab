/// What the master emits: a functional token naming a worker and the query in its canonical form,
/// `<nexa_i>('canonical')<nexa_end>`.
///
/// The parser is strict: exactly this shape, nothing before or after. Any deviation is a routing
/// failure, reported as `.unparsable` with what was wrong and at which token, never a crash,
/// whatever the tokens (the master is a small model and can emit anything).
public struct MasterOutput: Equatable, Hashable, Sendable {
    /// The worker node, i of `<nexa_i>`.
    public let node: Int
    /// The canonical query for the worker: non-empty, no `'`, at most `maximumCanonicalLength`.
    public let canonical: String

    /// The longest canonical text the parser accepts.
    public static let maximumCanonicalLength = 64

    public init(node: Int, canonical: String) {
        self.node = node
        self.canonical = canonical
    }

    /// `<nexa_i>('canonical')<nexa_end>`.
    public var rendered: String { "<nexa_\(node)>('\(canonical)')\(OctopusVocabulary.endOfCall)" }

    /// The tokens of `rendered`; throws when the node or a character is not in `vocabulary`.
    public func tokens(in vocabulary: OctopusVocabulary) throws(OctopusError) -> [Int32] {
        guard (0..<vocabulary.nodeCount).contains(node) else {
            throw .configuration("MasterOutput node \(node) is outside the vocabulary's 0..<\(vocabulary.nodeCount)")
        }
        return try vocabulary.encode(rendered)
    }

    /// Parses the text of a master output strictly (see `parse(_:vocabulary:)`); characters
    /// outside the vocabulary are `.unparsable` too.
    public static func parse(_ text: String, vocabulary: OctopusVocabulary) throws(OctopusError) -> MasterOutput {
        let tokens: [Int32]
        do {
            tokens = try vocabulary.encode(text)
        } catch {
            throw .unparsable("master output: \(error.description)")
        }
        return try parse(tokens, vocabulary: vocabulary)
    }

    /// Parses tokens strictly: `<nexa_i>`, `(`, `'`, 1…`maximumCanonicalLength` ordinary
    /// characters other than `'`, `'`, `)`, `<nexa_end>`, and nothing after. Positions in errors
    /// are token indices.
    public static func parse(_ tokens: [Int32], vocabulary: OctopusVocabulary) throws(OctopusError) -> MasterOutput {
        func name(_ position: Int) -> String {
            guard position < tokens.count else { return "the end" }
            let id = tokens[position]
            return vocabulary.spelling(of: id).map { "'\($0)'" } ?? "unknown token id \(id)"
        }
        func fail(_ position: Int, _ problem: String) -> OctopusError {
            .unparsable("master output at token \(position): \(problem), found \(name(position)); "
                        + "expected <nexa_i>('canonical')\(OctopusVocabulary.endOfCall)")
        }
        func expect(_ character: Character, at position: Int) throws(OctopusError) {
            guard position < tokens.count, vocabulary.character(of: tokens[position]) == character else {
                throw fail(position, "expected '\(character)'")
            }
        }

        guard let first = tokens.first, let node = vocabulary.node(of: first) else {
            throw fail(0, "expected a functional token <nexa_i> with i in 0..<\(vocabulary.nodeCount)")
        }
        try expect("(", at: 1)
        try expect("'", at: 2)
        var canonical = ""
        var position = 3
        while true {
            guard position < tokens.count else { throw fail(position, "the canonical query has no closing quote") }
            guard let character = vocabulary.character(of: tokens[position]) else {
                throw fail(position, "the canonical query may hold only ordinary characters")
            }
            if character == "'" { break }
            guard canonical.count < maximumCanonicalLength else {
                throw fail(position, "the canonical query is longer than \(maximumCanonicalLength) characters")
            }
            canonical.append(character)
            position += 1
        }
        guard !canonical.isEmpty else { throw fail(position, "the canonical query is empty") }
        try expect(")", at: position + 1)
        guard position + 2 < tokens.count, tokens[position + 2] == vocabulary.endOfCallToken else {
            throw fail(position + 2, "expected \(OctopusVocabulary.endOfCall)")
        }
        guard position + 3 == tokens.count else {
            throw fail(position + 3, "nothing may follow \(OctopusVocabulary.endOfCall)")
        }
        return MasterOutput(node: node, canonical: canonical)
    }
}
