/// Text ↔ ids.
extension OctopusVocabulary {
    /// The ids of `text`, special tokens written literally. Throws `.configuration` naming the
    /// first character that is not in the vocabulary and its position.
    public func encode(_ text: String) throws(OctopusError) -> [Int32] {
        var ids: [Int32] = []
        var rest = Substring(text)
        var position = 0
        while let first = rest.first {
            if first == "<" {
                let (id, length) = try special(at: rest, position: position)
                ids.append(id)
                rest = rest.dropFirst(length)
                position += length
                continue
            }
            guard let id = idOfCharacter[first] else {
                throw .configuration("character \(Self.quoted(first)) at position \(position) is not in the "
                                     + "Octopus vocabulary; use space, a–z, A–Z, 0–9 or '(),.?!:+-")
            }
            ids.append(id)
            rest = rest.dropFirst()
            position += 1
        }
        return ids
    }

    /// The text of `ids`, special tokens written literally. Throws for an id out of 0..<size.
    public func decode(_ ids: [Int32]) throws(OctopusError) -> String {
        var text = ""
        for (position, id) in ids.enumerated() {
            guard let piece = spelling(of: id) else {
                throw .configuration("token id \(id) at position \(position) is outside the vocabulary's "
                                     + "0..<\(size)")
            }
            text += piece
        }
        return text
    }

    /// How `id` is written in text, or nil when it is out of range.
    public func spelling(of id: Int32) -> String? {
        if let character = character(of: id) { return String(character) }
        if let node = node(of: id) { return "<nexa_\(node)>" }
        if id == endOfCallToken { return Self.endOfCall }
        if id == endOfAnswerToken { return Self.endOfAnswer }
        return nil
    }

    /// The special token that starts `text` (which starts with `<`) and its length in characters.
    private func special(at text: Substring, position: Int) throws(OctopusError) -> (Int32, Int) {
        if text.hasPrefix(Self.endOfCall) { return (endOfCallToken, Self.endOfCall.count) }
        if text.hasPrefix(Self.endOfAnswer) { return (endOfAnswerToken, Self.endOfAnswer.count) }
        let head = "<nexa_"
        if text.hasPrefix(head) {
            let digits = text.dropFirst(head.count).prefix { $0.isASCII && $0.isNumber }
            let close = text.dropFirst(head.count + digits.count).first
            if !digits.isEmpty, digits.count <= 3, close == ">", digits == "0" || !digits.hasPrefix("0"),
               let node = Int(digits) {
                guard node < nodeCount else {
                    throw .configuration("functional token <nexa_\(node)> at position \(position) names no "
                                         + "worker; this vocabulary has nodes 0..<\(nodeCount)")
                }
                return (functionalToken(node), head.count + digits.count + 1)
            }
        }
        throw .configuration("'<' at position \(position) does not start a special token; write <nexa_i> "
                             + "with i in 0..<\(nodeCount), \(Self.endOfCall) or \(Self.endOfAnswer)")
    }

    /// A character for an error message, with its code point when it is not printable ASCII.
    static func quoted(_ character: Character) -> String {
        if character.isASCII, let value = character.asciiValue, value >= 32, value < 127 { return "'\(character)'" }
        let codes = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }
        return codes.joined(separator: " ")
    }
}
