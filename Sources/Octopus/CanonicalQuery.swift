/// A worker's input after strict parsing: the domain and its checked arguments.
///
/// The grammar is `NAME arg…` with single spaces: `ADD a b` (decimal 0..<97, no sign, no leading
/// zero), `REV s`, `SORT s`, `ENC s` (s: 3–8 letters a–z), `CNT c s` (c: one letter a–z),
/// `FACT key` (a key of `Domain.facts`). Anything else is an error naming the part and the fix,
/// because a lenient parse would score a wrong routing as right.
public struct CanonicalQuery: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let domain: Domain
    /// The arguments as written, already checked against the domain's grammar.
    public let arguments: [String]

    /// Parses `text` strictly; throws `.configuration` naming what is wrong and where.
    public init(parsing text: String) throws(OctopusError) {
        guard text.count <= Domain.maximumCanonicalLength else {
            throw .configuration("canonical query of \(text.count) characters is longer than the "
                                 + "\(Domain.maximumCanonicalLength) allowed; write NAME and its arguments only")
        }
        guard !text.isEmpty else {
            throw .configuration("canonical query is empty; write NAME and its arguments, e.g. 'REV stone'")
        }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard !parts.contains("") else {
            throw .configuration("canonical query '\(text)' has a leading, trailing or double space; "
                                 + "separate its parts by single spaces")
        }
        guard let domain = Domain.allCases.first(where: { $0.name == parts[0] }) else {
            throw .configuration("canonical query '\(text)' starts with '\(parts[0])', which names no domain; "
                                 + "start with one of " + Domain.allCases.map(\.name).joined(separator: ", "))
        }
        let arguments = Array(parts.dropFirst())
        try Self.check(arguments, of: domain, in: text)
        self.domain = domain
        self.arguments = arguments
    }

    /// A query from parts the caller has checked (the generator); `precondition` on misuse.
    init(checked domain: Domain, _ arguments: [String]) {
        precondition((try? Self.check(arguments, of: domain, in: "")) != nil,
                     "generated arguments \(arguments) do not fit \(domain)")
        self.domain = domain
        self.arguments = arguments
    }

    /// The canonical text, `NAME arg…`.
    public var text: String { ([domain.name] + arguments).joined(separator: " ") }
    public var description: String { text }

    /// The exact answer (see `Domain`).
    public var answer: String {
        switch domain {
        case .add: String((Int(arguments[0])! + Int(arguments[1])!) % Domain.modulus)
        case .reverse: String(arguments[0].reversed())
        case .sort: String(arguments[0].sorted())
        case .encipher: String(arguments[0].map { Domain.cipher[Int($0.asciiValue! - 97)] })
        case .count: String(arguments[1].filter { String($0) == arguments[0] }.count)
        case .fact: Domain.factTable[arguments[0]]!
        }
    }

    private static func check(_ arguments: [String], of domain: Domain, in text: String) throws(OctopusError) {
        let place = "canonical query '\(text)'"
        let expected = switch domain {
        case .add: 2
        case .count: 2
        default: 1
        }
        guard arguments.count == expected else {
            throw .configuration("\(place): \(domain.name) takes \(expected) argument(s), got \(arguments.count)")
        }
        switch domain {
        case .add:
            for argument in arguments where !isResidue(argument) {
                throw .configuration("\(place): '\(argument)' is not a number 0–\(Domain.modulus - 1) "
                                     + "written in decimal without sign or leading zero")
            }
        case .reverse, .sort, .encipher:
            try checkWord(arguments[0], in: place)
        case .count:
            guard arguments[0].count == 1, isLowercase(arguments[0]) else {
                throw .configuration("\(place): the letter to count must be one of a–z, got '\(arguments[0])'")
            }
            try checkWord(arguments[1], in: place)
        case .fact:
            guard Domain.factTable[arguments[0]] != nil else {
                throw .configuration("\(place): unknown key '\(arguments[0])'; the keys are "
                                     + Domain.facts.map(\.key).joined(separator: ", "))
            }
        }
    }

    private static func checkWord(_ word: String, in place: String) throws(OctopusError) {
        guard Domain.wordLengths.contains(word.count), isLowercase(word) else {
            throw .configuration("\(place): '\(word)' must be \(Domain.wordLengths.lowerBound)–"
                                 + "\(Domain.wordLengths.upperBound) letters a–z")
        }
    }

    private static func isLowercase(_ word: String) -> Bool {
        word.unicodeScalars.allSatisfy { ("a"..."z").contains($0) }
    }

    private static func isResidue(_ word: String) -> Bool {
        guard !word.isEmpty, word.count <= 2, word.unicodeScalars.allSatisfy({ ("0"..."9").contains($0) }),
              word == "0" || !word.hasPrefix("0"), let value = Int(word) else { return false }
        return value < Domain.modulus
    }
}
