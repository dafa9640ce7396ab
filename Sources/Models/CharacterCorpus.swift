import Foundation
import Tasks

/// A text as a character-level token stream: the vocabulary is the text's Unicode scalars (the
/// most frequent first), and the last `validationFraction` of the text is held out.
///
/// At most `maxSymbols` symbols: when a text has more distinct scalars, the `maxSymbols − 1` most
/// frequent keep their own id and every rarer scalar shares the last id, shown as U+FFFD.
public struct CharacterCorpus: Sendable {
    /// The largest vocabulary a corpus gets (one byte per token id in exports).
    public static let maxSymbols = 256
    /// The largest text read, in bytes: these are small models on one machine.
    public static let maxBytes = 64 << 20
    /// The shared symbol of rare scalars beyond `maxSymbols − 1`.
    public static let rareSymbol: Unicode.Scalar = "\u{FFFD}"

    /// Where the text came from (for messages and reports).
    public let source: String
    /// Token id → scalar.
    public let symbols: [Unicode.Scalar]
    /// The first (1 − validationFraction) of the text, and the rest.
    public let training: [Int32]
    public let validation: [Int32]
    /// How many scalars of the text were mapped to `rareSymbol` (0 when the vocabulary fits).
    public let rareCount: Int

    public var vocabulary: Int { symbols.count }

    /// - Parameters:
    ///   - text: the corpus; at least 2 distinct scalars.
    ///   - source: named in errors, e.g. the file's path.
    ///   - validationFraction: the held-out tail, in (0, 0.5].
    /// - Throws: `ModelError.input` for an empty text or a single repeated symbol.
    public init(text: String, source: String, validationFraction: Double = 0.1) throws(ModelError) {
        guard validationFraction > 0 && validationFraction <= 0.5 else {
            throw .configuration("the validation fraction must be in (0, 0.5] (got \(validationFraction))")
        }
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { throw .input("\(source) is empty; give a text file with some content") }
        // Scalars below U+0800 (every Latin, Greek, Cyrillic… letter) are counted and looked up in
        // arrays, the rest in dictionaries: hashing every scalar of a corpus costs more than the
        // oracle's routes on a small model.
        let direct = 0x800
        var directCounts = [Int](repeating: 0, count: direct)
        var counts: [Unicode.Scalar: Int] = [:]
        for scalar in scalars {
            if scalar.value < direct { directCounts[Int(scalar.value)] += 1 } else { counts[scalar, default: 0] += 1 }
        }
        for (value, count) in directCounts.enumerated() where count > 0 { counts[Unicode.Scalar(UInt32(value))!] = count }
        guard counts.count >= 2 else { throw .input("\(source) holds a single repeated character; a corpus needs at least 2") }
        // Most frequent first, ties by scalar value, so the vocabulary is the same on every machine.
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }.map(\.key)
        let kept = ranked.count <= Self.maxSymbols ? ranked : Array(ranked.prefix(Self.maxSymbols - 1))
        let rareID = Int32(kept.count)
        var ids: [Unicode.Scalar: Int32] = [:]
        var directIDs = [Int32](repeating: rareID, count: direct)
        for (id, scalar) in kept.enumerated() {
            if scalar.value < direct { directIDs[Int(scalar.value)] = Int32(id) } else { ids[scalar] = Int32(id) }
        }
        var rare = 0
        let tokens = scalars.map { scalar -> Int32 in
            let id = scalar.value < direct ? directIDs[Int(scalar.value)] : ids[scalar] ?? rareID
            if id == rareID { rare += 1 }
            return id
        }
        symbols = rare > 0 ? kept + [Self.rareSymbol] : kept
        rareCount = rare
        self.source = source
        let split = tokens.count - Int((Double(tokens.count) * validationFraction).rounded(.up))
        training = Array(tokens[..<split])
        validation = Array(tokens[split...])
    }

    /// Reads a UTF-8 text file.
    /// - Throws: `ModelError.input` naming the file for a missing, unreadable, too large, empty,
    ///   or binary file (a NUL byte or invalid UTF-8), before any other work.
    public static func load(path: String, validationFraction: Double = 0.1) throws(ModelError) -> CharacterCorpus {
        try CharacterCorpus(text: readText(path: path), source: path, validationFraction: validationFraction)
    }

    /// Loom's own documentation as a corpus: the snapshot data/loom-docs.txt of README.md and docs/*.md
    /// from the checkout at `root` (found with `loomRoot()` by default), so it works on any machine
    /// with the sources.
    /// - Throws: `ModelError.input` if no checkout is found or its snapshot is missing.
    public static func loomDocumentation(root: URL? = nil, validationFraction: Double = 0.1) throws(ModelError) -> CharacterCorpus {
        guard let root = root ?? loomRoot() else {
            throw .input("Loom's sources (data/\(documentationSnapshot)) were not found from the current directory or the build's source path; give corpus=path to a text file")
        }
        let file = root.appendingPathComponent("data").appendingPathComponent(documentationSnapshot)
        return try CharacterCorpus(text: try readText(path: file.path), source: "Loom's documentation (\(file.path))",
                                   validationFraction: validationFraction)
    }

    /// The default corpus: README.md and docs/*.md as they stood when the snapshot was taken
    /// (`make corpus` takes it again), kept in the repository so a result never depends on
    /// docs edited since, and a run's corpus is the same on every machine of a checkout.
    public static let documentationSnapshot = "loom-docs.txt"

    /// The Loom checkout (the directory holding Package.swift and docs/).
    public static func loomRoot() -> URL? { LoomCheckout.root(holding: "docs") }

    static func readText(path: String) throws(ModelError) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .input("corpus file \(path) does not exist; give corpus=path to a UTF-8 text file")
        }
        guard !isDirectory.boolValue else { throw .input("corpus \(path) is a directory; give a text file") }
        let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else {
            throw .input("corpus file \(path) has \(size) bytes, more than Loom's \(maxBytes >> 20) MiB; use a shorter excerpt")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .input("corpus file \(path) cannot be read") }
        guard !data.isEmpty else { throw .input("corpus file \(path) is empty; give a text file with some content") }
        if let offset = data.firstIndex(of: 0) {
            throw .input("corpus file \(path) is binary (a NUL byte at offset \(offset - data.startIndex)); give a UTF-8 text file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .input("corpus file \(path) is not valid UTF-8 text; convert it (e.g. with iconv) or give another file")
        }
        return text
    }
}
