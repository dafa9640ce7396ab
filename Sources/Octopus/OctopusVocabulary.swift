/// The character-level vocabulary of the master and worker models.
///
/// Ids: first the ordinary characters (`characters`, in order), then `<nexa_0>` … `<nexa_{K-1}>`
/// (one functional token per worker node), then `<nexa_end>`, then `<eoa>` (end of answer).
/// Special tokens are written literally in text (`<nexa_2>('REV stone')<nexa_end>`) and each is
/// one id; `<` and `>` are not ordinary characters, so nothing else can be read as one.
public struct OctopusVocabulary: Equatable, Sendable {
    /// Every ordinary character of queries, canonical queries and answers, fixed so ids never
    /// depend on the data: space, a–z, A–Z, 0–9 and the punctuation the templates use.
    public static let characters: [Character] = Array(" abcdefghijklmnopqrstuvwxyz"
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'(),.?!:+-")

    /// The most worker nodes a vocabulary may name.
    public static let maximumNodeCount = 256

    public static let endOfCall = "<nexa_end>"
    public static let endOfAnswer = "<eoa>"

    /// K, the number of functional tokens `<nexa_0>` … `<nexa_{K-1}>`.
    public let nodeCount: Int

    let idOfCharacter: [Character: Int32]

    public init(nodeCount: Int) throws(OctopusError) {
        guard (1...Self.maximumNodeCount).contains(nodeCount) else {
            throw .configuration("OctopusVocabulary(nodeCount: \(nodeCount)): the node count must be in "
                                 + "1...\(Self.maximumNodeCount), one per worker in the graph")
        }
        self.nodeCount = nodeCount
        idOfCharacter = Dictionary(uniqueKeysWithValues: Self.characters.enumerated().map { ($1, Int32($0)) })
    }

    /// How many ids there are: characters, K functional tokens, `<nexa_end>`, `<eoa>`.
    public var size: Int { Self.characters.count + nodeCount + 2 }

    /// The id of `<nexa_i>`; `precondition` on i outside 0..<K.
    public func functionalToken(_ node: Int) -> Int32 {
        precondition((0..<nodeCount).contains(node), "node \(node) is outside 0..<\(nodeCount)")
        return Int32(Self.characters.count + node)
    }

    public var endOfCallToken: Int32 { Int32(Self.characters.count + nodeCount) }
    public var endOfAnswerToken: Int32 { Int32(Self.characters.count + nodeCount + 1) }

    /// The node named by `token` when it is a functional token `<nexa_i>`, else nil.
    public func node(of token: Int32) -> Int? {
        let index = Int(token) - Self.characters.count
        return (0..<nodeCount).contains(index) ? index : nil
    }

    /// The ordinary character of `token`, or nil for special tokens and ids out of range.
    public func character(of token: Int32) -> Character? {
        (0..<Int32(Self.characters.count)).contains(token) ? Self.characters[Int(token)] : nil
    }
}
