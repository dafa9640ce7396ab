import Foundation

/// The token statistics behind the Bigram-Backcopy task (Guo et al. 2024, arXiv 2410.13835, §2):
/// a vocabulary, a unigram marginal and a bigram transition matrix, plus the two special tokens.
///
/// With V the vocabulary size, `marginal[i]` is P(token = i) and `bigram[i][j]` is
/// P(next = j | current = i). The beginning-of-sequence token (BOS) and the delimiter are never
/// sampled inside a sequence: the initialiser zeroes their probabilities in the marginal and in
/// every bigram row and renormalises. Their own rows are whatever the source gives (in the paper's
/// data, and in statistics built from a corpus, they equal the marginal); the task never samples
/// from the delimiter's row, and the paper's oracle reads the BOS row at the first position.
public struct BigramBackcopyStatistics: Sendable, Equatable {
    /// The token spellings: `vocabulary[i]` is token i (a character, `<s_0>` or `<d>`).
    public let vocabulary: [String]
    /// The beginning-of-sequence token's id.
    public let beginToken: Int
    /// The delimiter token's id (unused by the task, kept so ids match the paper's).
    public let delimiterToken: Int
    /// P(token = i), length V, zero at BOS and the delimiter.
    public let marginal: [Double]
    /// Row i is P(next | current = i): V rows of V, each summing to 1, zero in the BOS and
    /// delimiter columns.
    public let bigram: [[Double]]

    /// The number of tokens, V.
    public var count: Int { vocabulary.count }

    /// Checks the shapes and sums, then removes BOS and the delimiter from every distribution.
    /// - Parameters:
    ///   - vocabulary: V token spellings.
    ///   - beginToken: the BOS id, in 0..<V.
    ///   - delimiterToken: the delimiter id, in 0..<V, not `beginToken`.
    ///   - marginal: V probabilities summing to 1 (within 10⁻⁶).
    ///   - bigram: V rows of V probabilities, each summing to 1 (within 10⁻⁶).
    ///   - source: names the data in errors (a file path).
    /// - Throws: `ModelError.input` naming `source` and the first problem found.
    /// - Complexity: O(V²).
    public init(vocabulary: [String], beginToken: Int, delimiterToken: Int, marginal: [Double],
                bigram: [[Double]], source: String = "statistics") throws(ModelError) {
        let v = vocabulary.count
        func fail(_ problem: String) -> ModelError { .input("\(source): \(problem)") }
        guard v >= 3 else { throw fail("the vocabulary has \(v) tokens; need at least 1 plus BOS and the delimiter") }
        guard (0..<v).contains(beginToken), (0..<v).contains(delimiterToken), beginToken != delimiterToken else {
            throw fail("BOS \(beginToken) and delimiter \(delimiterToken) must be two different ids in 0..<\(v)")
        }
        guard marginal.count == v else { throw fail("marginal has \(marginal.count) entries; the vocabulary has \(v)") }
        guard bigram.count == v else { throw fail("cond has \(bigram.count) rows; the vocabulary has \(v)") }
        if let row = bigram.firstIndex(where: { $0.count != v }) {
            throw fail("cond row \(row) has \(bigram[row].count) entries; the vocabulary has \(v)")
        }
        // 1e-6: the paper's rows are float64 counts divided by totals, off from 1 by ~1e-15.
        func check(_ p: [Double], _ name: String) throws(ModelError) -> [Double] {
            if let i = p.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
                throw fail("\(name)[\(i)] is \(p[i]); probabilities must be finite and ≥ 0")
            }
            let sum = p.reduce(0, +)
            guard abs(sum - 1) <= 1e-6 else { throw fail("\(name) sums to \(sum), not 1") }
            var kept = p
            kept[beginToken] = 0
            kept[delimiterToken] = 0
            let keptSum = kept.reduce(0, +)
            guard keptSum > 0 else { throw fail("\(name) puts all its mass on BOS or the delimiter") }
            return kept.map { $0 / keptSum }
        }
        let cleanMarginal = try check(marginal, "marginal")
        var rows: [[Double]] = []
        rows.reserveCapacity(v)
        for i in 0..<v { rows.append(try check(bigram[i], "cond row \(i) (\(Self.spell(vocabulary[i])))")) }
        self.vocabulary = vocabulary
        self.beginToken = beginToken
        self.delimiterToken = delimiterToken
        self.marginal = cleanMarginal
        self.bigram = rows
    }

    /// The `k` most frequent tokens by marginal, most frequent first (ties: the lower id first).
    /// The paper's triggers are these with k = 3: for Tiny Shakespeare `' '`, `'e'`, `'t'`.
    /// - Precondition: 1 ≤ k < the number of tokens with nonzero marginal.
    /// - Complexity: O(V log V).
    public func mostFrequent(_ k: Int) -> [Int] {
        let support = marginal.filter { $0 > 0 }.count
        precondition(k >= 1 && k < support, "need 1 ≤ k < \(support) (tokens the marginal can give), got \(k)")
        return marginal.indices.sorted { (marginal[$0], $1) > (marginal[$1], $0) }.prefix(k).map { $0 }
    }

    /// The entropy (in nats) of bigram row `token`: −Σⱼ p log p, with 0 log 0 = 0.
    /// - Complexity: O(V).
    public func rowEntropy(_ token: Int) -> Double {
        bigram[token].reduce(0) { $1 > 0 ? $0 - $1 * Foundation.log($1) : $0 }
    }

    /// A printable spelling of a token (`"\n"` becomes `\n`).
    static func spell(_ token: String) -> String {
        "'" + token.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r") + "'"
    }
}

extension BigramBackcopyStatistics {
    /// `data/bigram-backcopy.json` in the Loom checkout this file was compiled from (found from
    /// `#filePath`: Sources/Models/ → the package root). The paper's Tiny Shakespeare statistics.
    public static var bundledPath: String {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // Models
            .deletingLastPathComponent()  // Sources
            .deletingLastPathComponent()  // package root
            .appendingPathComponent("data/bigram-backcopy.json").path
    }

    /// The on-disk layout: the paper's `meta.pickle` for data config bos1_d0, as JSON.
    private struct File: Decodable {
        var vocab: [String]
        var bos: Int
        var delimiter: Int
        var marginal: [Double]
        var cond: [[Double]]
    }

    /// Reads statistics from a JSON file with keys `vocab` (V strings), `bos`, `delimiter`
    /// (ids), `marginal` (V numbers) and `cond` (V rows of V numbers); other keys are ignored.
    /// - Parameter path: the file; by default `bundledPath`, the paper's Tiny Shakespeare data.
    /// - Returns: the checked statistics (see `init`).
    /// - Throws: `ModelError.input` naming the file and what is wrong: missing or unreadable,
    ///   not JSON or missing a key, wrong sizes, rows not summing to 1.
    /// - Complexity: O(V²).
    public static func load(from path: String = bundledPath) throws(ModelError) -> BigramBackcopyStatistics {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .input("\(path): cannot read the Bigram-Backcopy statistics (\(error.localizedDescription)); "
                + "copy data/bigram-backcopy.json from a Loom checkout or pass its path")
        }
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .input("\(path): no \"\(key.stringValue)\" key; need vocab, bos, delimiter, marginal, cond")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let where_ = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw .input("\(path): bad value at \(where_): \(context.debugDescription)")
        } catch {
            throw .input("\(path): not valid JSON (\(error))")
        }
        return try BigramBackcopyStatistics(vocabulary: file.vocab, beginToken: file.bos,
                                            delimiterToken: file.delimiter, marginal: file.marginal,
                                            bigram: file.cond, source: path)
    }
}
