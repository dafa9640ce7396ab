/// Token sequences as text for task parameters and results: one sequence per line, token ids
/// separated by single spaces (`"3 17 5\n4 9"`). Plain digits only, so a value can never carry
/// anything but ids; sizes are checked before anything is allocated.
public enum TokenLines {
    /// Most sequences in one value, and most characters in it.
    public static let maximumLines = 4_096, maximumCharacters = 1 << 20

    public static func encode(_ sequences: [[Int32]]) -> String {
        sequences.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n")
    }

    /// - Throws: `OctopusError.configuration` naming the line for anything but ids in 0..<`vocabulary`,
    ///   an empty line, or a value over the limits.
    public static func decode(_ text: String, vocabulary: Int, what: String) throws(OctopusError) -> [[Int32]] {
        guard text.utf8.count <= maximumCharacters else {
            throw .configuration("\(what) has \(text.utf8.count) characters; at most \(maximumCharacters)")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count <= maximumLines else { throw .configuration("\(what) has \(lines.count) lines; at most \(maximumLines)") }
        var result: [[Int32]] = []
        for (i, line) in lines.enumerated() {
            var sequence: [Int32] = []
            for word in line.split(separator: " ", omittingEmptySubsequences: false) {
                guard let id = Int32(word), id >= 0, Int(id) < vocabulary else {
                    throw .configuration("\(what), line \(i + 1): '\(word.prefix(20))' is not a token id in 0..<\(vocabulary)")
                }
                sequence.append(id)
            }
            result.append(sequence)
        }
        return result
    }
}
