import Foundation
import Models
import ProcessTestSupport
import TensorCore
import Testing

/// The character-level corpus: vocabulary, split, batches, the default corpus, and bad files.
@Suite struct CharacterCorpusTests {
    @Test func vocabularyIsByFrequencyAndTheTailIsHeldOut() throws {
        let corpus = try CharacterCorpus(text: "abracadabra", source: "t", validationFraction: 0.2)
        #expect(corpus.symbols == ["a", "b", "r", "c", "d"])      // a×5, b×2, r×2 (by scalar), c, d
        #expect(corpus.training.count == 8 && corpus.validation.count == 3)
        #expect((corpus.training + corpus.validation).map { corpus.symbols[Int($0)] } == Array("abracadabra".unicodeScalars))
        #expect(corpus.rareCount == 0)
    }

    /// Beyond 256 symbols the 255 most frequent keep their ids and the rest share U+FFFD.
    @Test func rareSymbolsBeyondTheBoundShareOneId() throws {
        let common = String(repeating: "ab", count: 50)
        let rare = String(String.UnicodeScalarView((0..<300).map { Unicode.Scalar(0x4E00 + $0)! }))
        let corpus = try CharacterCorpus(text: common + rare, source: "t")
        #expect(corpus.vocabulary == CharacterCorpus.maxSymbols && corpus.symbols.last == CharacterCorpus.rareSymbol)
        #expect(corpus.rareCount == 300 - 253)
        #expect((corpus.training + corpus.validation).allSatisfy { $0 < 256 })
    }

    /// Ids below U+0800 come from arrays, the rest from dictionaries: both ranges, frequent and
    /// rare, against the rule written out with one dictionary.
    @Test func idsFollowTheRuleOnBothSidesOfTheArrayRange() throws {
        var random = SeededRandom(seed: 3)
        // 400 symbols, skewed: the 200 frequent ones above U+0800 (from U+4E00), the rest below
        // (U+0600 + 200…399), so both ranges keep ids and those below also fall to U+FFFD.
        let scalars = (0..<6_000).map { _ -> Unicode.Scalar in
            let pick = Int(random.next() % 400), skewed = pick * pick / 400
            return Unicode.Scalar(UInt32(skewed < 200 ? 0x4E00 + skewed : 0x600 + skewed))!
        }
        let corpus = try CharacterCorpus(text: String(String.UnicodeScalarView(scalars)), source: "t")
        var counts: [Unicode.Scalar: Int] = [:]
        for scalar in scalars { counts[scalar, default: 0] += 1 }
        let ranked = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }.map(\.key)
        let kept = Array(ranked.prefix(CharacterCorpus.maxSymbols - 1))
        #expect(corpus.symbols == kept + [CharacterCorpus.rareSymbol])
        let expected = scalars.map { Int32(kept.firstIndex(of: $0) ?? kept.count) }
        #expect(corpus.training + corpus.validation == expected)
        #expect(corpus.rareCount == expected.filter { $0 == Int32(kept.count) }.count && corpus.rareCount > 0)
        #expect(kept.contains { $0.value < 0x800 } && kept.contains { $0.value >= 0x800 })
    }

    @Test func batchesAreSeededAndValidationComesFromTheHeldOutSplit() throws {
        let text = String((0..<400).map { i in Character(Unicode.Scalar(UInt8(97 + i % 7))) })
        let corpus = try CharacterCorpus(text: text + String(repeating: "xy", count: 30), source: "t", validationFraction: 0.12)
        let task = try CharacterCorpusTask(corpus: corpus, context: 8)
        let a = task.trainingBatch(size: 4, length: 8, seed: 1, step: 5)
        #expect(a.inputs == task.trainingBatch(size: 4, length: 8, seed: 1, step: 5).inputs)
        #expect(a.inputs != task.trainingBatch(size: 4, length: 8, seed: 1, step: 6).inputs)
        #expect(Array(a.inputs[1..<8]) == Array(a.targets[0..<7]))   // targets are the next characters
        let x = Int32(corpus.symbols.firstIndex(of: "x")!), y = Int32(corpus.symbols.firstIndex(of: "y")!)
        // The held-out tail is all "xy": the evaluation batch (step −1) sees only those, training never.
        #expect(task.trainingBatch(size: 4, length: 8, seed: 1, step: -1).inputs.allSatisfy { $0 == x || $0 == y })
        #expect(a.inputs.contains { $0 != x && $0 != y })
    }

    @Test func badFilesAreClearErrorsBeforeAnyWork() throws {
        let scratch = try TemporaryDirectory()
        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = scratch.url.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }
        let missing = scratch.url.appendingPathComponent("missing.txt").path
        #expect { try CharacterCorpus.load(path: missing) } throws: { "\($0)".contains("does not exist") && "\($0)".contains(missing) }
        #expect { try CharacterCorpus.load(path: try file("empty.txt", [])) } throws: { "\($0)".contains("is empty") }
        #expect { try CharacterCorpus.load(path: try file("nul.bin", [65, 66, 0, 67])) } throws: { "\($0)".contains("binary (a NUL byte at offset 2)") }
        #expect { try CharacterCorpus.load(path: try file("latin1.txt", [65, 0xE9, 66])) } throws: { "\($0)".contains("not valid UTF-8") }
        #expect { try CharacterCorpus.load(path: scratch.url.path) } throws: { "\($0)".contains("is a directory") }
        #expect { try CharacterCorpus.load(path: try file("one.txt", Array("aaaa".utf8))) } throws: { "\($0)".contains("single repeated character") }
        let short = try CharacterCorpus.load(path: try file("short.txt", Array("hello world, hello".utf8)))
        #expect { try CharacterCorpusTask(corpus: short, context: 16) } throws: {
            "\($0)".contains("too short") && "\($0)".contains("needs 17")
        }
    }

    /// The default corpus is the snapshot of Loom's README.md and docs/*.md in data/, read from the checkout.
    @Test func theDefaultCorpusIsLoomsOwnDocumentation() throws {
        let root = try #require(CharacterCorpus.loomRoot())
        let corpus = try CharacterCorpus.loomDocumentation(root: root)
        #expect(corpus.source.contains("Loom's documentation"))
        #expect(corpus.training.count > 50_000 && corpus.vocabulary > 60 && corpus.vocabulary <= 256)
        _ = try CharacterCorpusTask(corpus: corpus, context: 256)
    }
}
