import Foundation

extension BigramBackcopyStatistics {
    /// The BOS and delimiter spellings the paper uses.
    public static let beginSpelling = "<s_0>"
    public static let delimiterSpelling = "<d>"

    /// Statistics of a character corpus, built the way the paper built its Tiny Shakespeare data.
    ///
    /// The vocabulary is the text's distinct Unicode scalars sorted by code point (Python's
    /// `sorted(set(text))`, so for Tiny Shakespeare it is the paper's 65 characters in the
    /// paper's order), then BOS (`<s_0>`) and the delimiter (`<d>`). `marginal[c]` is c's count
    /// over the text's length; `bigram[c][d]` is the count of `c d` adjacent pairs over the count of
    /// pairs starting with c. A character with no successor (only the last one can lack it) gets
    /// the marginal as its row, and so do BOS and the delimiter, as in the paper's data.
    /// - Parameters:
    ///   - text: the corpus; it needs at least 2 distinct characters.
    ///   - source: names the corpus in errors.
    /// - Throws: `ModelError.input` when the text has fewer than 2 distinct characters.
    /// - Complexity: O(n + V²) for n characters.
    public init(text: String, source: String = "corpus") throws(ModelError) {
        var index: [Unicode.Scalar: Int] = [:]
        for scalar in text.unicodeScalars where index[scalar] == nil { index[scalar] = 0 }
        guard index.count >= 2 else {
            throw .input("\(source): \(index.count) distinct characters; a corpus needs at least 2")
        }
        let characters = index.keys.sorted { $0.value < $1.value }
        for (i, c) in characters.enumerated() { index[c] = i }
        let v = characters.count + 2
        var counts = [Double](repeating: 0, count: v)          // (V)
        var pairs = [Double](repeating: 0, count: v * v)       // (V, V) row-major, next contiguous
        var previous: Int?
        for scalar in text.unicodeScalars {
            let id = index[scalar]!
            counts[id] += 1
            if let p = previous { pairs[p * v + id] += 1 }
            previous = id
        }
        let total = counts.reduce(0, +)
        let marginal = counts.map { $0 / total }
        var rows: [[Double]] = []
        for i in 0..<v {
            let row = Array(pairs[(i * v)..<(i * v + v)])
            let rowTotal = row.reduce(0, +)
            rows.append(rowTotal > 0 ? row.map { $0 / rowTotal } : marginal)
        }
        try self.init(vocabulary: characters.map { String($0) } + [Self.beginSpelling, Self.delimiterSpelling],
                      beginToken: v - 2, delimiterToken: v - 1, marginal: marginal, bigram: rows, source: source)
    }

    /// Statistics of the UTF-8 text file at `path` (see `init(text:source:)`).
    /// - Throws: `ModelError.input` naming the file when it cannot be read, is not UTF-8, or has
    ///   fewer than 2 distinct characters.
    /// - Complexity: O(n + V²) for n characters.
    public init(corpusAt path: String) throws(ModelError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .input("\(path): cannot read the corpus as UTF-8 text (\(error.localizedDescription))")
        }
        try self.init(text: text, source: path)
    }
}
