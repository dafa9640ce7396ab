/// One of the K = 6 synthetic tasks a worker model specialises in.
///
/// Each has a short name that begins its canonical query (`ADD 12 40`, `REV stone`) and an exact
/// answer, so a worker's output is scored by string equality. The raw value is the worker's node
/// index in the default graph (`<nexa_0>` is ADD … `<nexa_5>` is FACT).
public enum Domain: Int, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// `ADD a b` → (a + b) mod 97, with a, b in 0..<97.
    case add
    /// `REV s` → s reversed.
    case reverse
    /// `SORT s` → the letters of s in alphabetical order.
    case sort
    /// `ENC s` → s through a fixed substitution cipher (`Domain.cipher`).
    case encipher
    /// `CNT c s` → how many times the letter c occurs in s.
    case count
    /// `FACT key` → the capital of a country, from a fixed table (`Domain.facts`).
    case fact

    /// The name that begins the canonical query.
    public var name: String {
        switch self {
        case .add: "ADD"
        case .reverse: "REV"
        case .sort: "SORT"
        case .encipher: "ENC"
        case .count: "CNT"
        case .fact: "FACT"
        }
    }

    public var description: String { name }

    /// The domain with this canonical name (`"REV"`), or an error listing the names.
    public init(name: String) throws(OctopusError) {
        guard let domain = Domain.allCases.first(where: { $0.name == name }) else {
            throw .configuration("unknown domain '\(name.prefix(16))'; the domains are "
                                 + Domain.allCases.map(\.name).joined(separator: ", "))
        }
        self = domain
    }

    /// The modulus of ADD: sums wrap so that every answer is again a valid ADD argument.
    public static let modulus = 97

    /// Lengths of the strings s in REV, SORT, ENC and CNT (letters a–z only).
    public static let wordLengths: ClosedRange<Int> = 3...8

    /// The longest canonical query accepted, checked before it is split.
    public static let maximumCanonicalLength = 32
}
