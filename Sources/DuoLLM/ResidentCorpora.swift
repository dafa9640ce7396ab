import Foundation
import Models
import Synchronization

/// The corpora a worker process has read, kept between tasks: a sharded oracle search sends
/// one task per slice of routes, and each used to read and index its corpus again (about 2 ms
/// for Loom's documentation, a few percent of a slice of L = 6 routes).
/// An entry is used only while its file's size and modification time are unchanged.
enum ResidentCorpora {
    private struct Stamp: Equatable { let size: Int, modified: Date }
    private static let entries = Mutex<[String: (stamp: Stamp, corpus: CharacterCorpus)]>([:])
    /// Distinct corpora kept at most; beyond that the cache starts again.
    static let capacity = 4

    /// The corpus at `path` (empty: Loom's documentation), read unless it is resident.
    /// - Throws: `ModelError` as `CharacterCorpus.load` (a missing, empty or binary file).
    static func corpus(_ path: String) throws(ModelError) -> CharacterCorpus {
        let file = path.isEmpty
            ? CharacterCorpus.loomRoot()?.appendingPathComponent("data").appendingPathComponent(CharacterCorpus.documentationSnapshot).path
            : URL(fileURLWithPath: path).standardizedFileURL.path
        let stamp = file.flatMap(Self.stamp)
        if let file, let stamp, let kept = entries.withLock({ $0[file] }), kept.stamp == stamp { return kept.corpus }
        let corpus = path.isEmpty ? try CharacterCorpus.loomDocumentation() : try CharacterCorpus.load(path: path)
        if let file, let stamp {
            entries.withLock { kept in
                if kept.count >= capacity { kept.removeAll() }
                kept[file] = (stamp, corpus)
            }
        }
        return corpus
    }

    private static func stamp(_ file: String) -> Stamp? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
              let size = attributes[.size] as? Int, let modified = attributes[.modificationDate] as? Date else { return nil }
        return Stamp(size: size, modified: modified)
    }
}
