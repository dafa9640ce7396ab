import Foundation
import Models
import Testing
@testable import DuoLLM

/// A worker keeps the corpora it read between tasks, but never serves one whose file changed.
@Suite struct ResidentCorporaTests {
    @Test func aChangedFileIsReadAgainAndAMissingOneIsAnError() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loom-resident-corpora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("text.txt")
        try "abab abab abab".write(to: file, atomically: true, encoding: .utf8)
        let first = try ResidentCorpora.corpus(file.path)
        #expect(first.vocabulary == 3)
        #expect(try ResidentCorpora.corpus(file.path).training == first.training)
        try "abcd abcd abcd abcd xyz".write(to: file, atomically: true, encoding: .utf8)
        let second = try ResidentCorpora.corpus(file.path)
        #expect(second.vocabulary == 8, "the rewritten file was served from the cache")
        try FileManager.default.removeItem(at: file)
        #expect(throws: ModelError.self) { try ResidentCorpora.corpus(file.path) }
    }
}
