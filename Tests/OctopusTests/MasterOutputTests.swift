import Testing
import TensorCore
@testable import Octopus

@Suite struct MasterOutputTests {
    let vocabulary = try! OctopusVocabulary(nodeCount: Domain.allCases.count)

    @Test func renderedOutputsRoundTrip() throws {
        var generator = QueryGenerator(seed: 31)
        for example in try generator.examples(for: .train, count: 600) {
            let output = MasterOutput(node: example.domain.rawValue, canonical: example.canonical)
            #expect(output.rendered == "<nexa_\(example.domain.rawValue)>('\(example.canonical)')<nexa_end>")
            #expect(try MasterOutput.parse(output.rendered, vocabulary: vocabulary) == output)
            #expect(try MasterOutput.parse(output.tokens(in: vocabulary), vocabulary: vocabulary) == output)
        }
        #expect(throws: OctopusError.self) { try MasterOutput(node: 6, canonical: "REV abc").tokens(in: vocabulary) }
    }

    /// Each malformed output and a fragment its reason must contain.
    @Test func malformedOutputsAreUnparsableWithAReason() {
        let cases: [(String, String)] = [
            ("('REV stone')<nexa_end>", "functional token"),
            ("", "functional token"),
            ("hey <nexa_1>('REV stone')<nexa_end>", "token 0"),
            ("<nexa_end>('REV stone')<nexa_end>", "functional token"),
            ("<nexa_1>('REV stone')", "expected <nexa_end>"),
            ("<nexa_1>('REV stone')<eoa>", "expected <nexa_end>"),
            ("<nexa_1><nexa_2>('REV stone')<nexa_end>", "expected '('"),
            ("<nexa_7>('REV stone')<nexa_end>", "names no worker"),
            ("<nexa_1>('')<nexa_end>", "empty"),
            ("<nexa_1>('RE'V')<nexa_end>", "expected ')'"),
            ("<nexa_1>('REV stone')<nexa_end> thanks", "nothing may follow"),
            ("<nexa_1>('REV stone')<nexa_end><nexa_end>", "nothing may follow"),
            ("<nexa_1>('REV stone')<nexa_end><nexa_2>('SORT abc')<nexa_end>", "nothing may follow"),
            ("<nexa_1>('REV stone", "no closing quote"),
            ("<nexa_1>(", "expected '''"),
            ("<nexa_1>", "expected '('"),
            ("<nexa_1>(REV stone)<nexa_end>", "expected '''"),
            ("<nexa_1>('REV <nexa_2>stone')<nexa_end>", "only ordinary characters"),
            ("<nexa_1>('REV stone<nexa_end>", "only ordinary characters"),
            ("<nexa_1>('REV stone'<nexa_end>", "expected ')'"),
            ("<nexa_1>('" + String(repeating: "x", count: 65) + "')<nexa_end>", "longer than 64"),
            ("<nexa_1>('REV stoné')<nexa_end>", "not in the Octopus vocabulary"),
            ("<nexa_1>('REV stone')<nexa_end", "does not start a special token"),
        ]
        for (text, fragment) in cases {
            do {
                let output = try MasterOutput.parse(text, vocabulary: vocabulary)
                Issue.record("'\(text)' parsed as \(output)")
            } catch {
                guard case let .unparsable(reason) = error else { Issue.record("\(error)"); continue }
                #expect(reason.contains(fragment), "'\(text)': \(reason)")
            }
        }
        for tokens: [Int32] in [[9999], [-1], [vocabulary.functionalToken(0), Int32.max], [Int32.min]] {
            #expect(throws: OctopusError.self) { try MasterOutput.parse(tokens, vocabulary: vocabulary) }
        }
        // The longest allowed canonical query still parses.
        let longest = "<nexa_1>('" + String(repeating: "x", count: 64) + "')<nexa_end>"
        #expect((try? MasterOutput.parse(longest, vocabulary: vocabulary))?.canonical.count == 64)
    }

    @Test func everyTruncationIsUnparsable() throws {
        let tokens = try MasterOutput(node: 3, canonical: "ENC stone").tokens(in: vocabulary)
        for length in 0..<tokens.count {
            let prefix = Array(tokens[..<length])
            #expect(throws: OctopusError.self) { try MasterOutput.parse(prefix, vocabulary: vocabulary) }
        }
    }

    /// Random sequences, random bytes and single-token mutations of valid outputs: the parser
    /// answers (a value that re-renders to the same tokens, or `.unparsable`) and never crashes.
    @Test func fuzzedInputsNeverCrash() throws {
        var random = SeededRandom(seed: 77)
        func draw(_ n: Int) -> Int { Int((random.next() >> 32) % UInt64(n)) }
        let valid = try MasterOutput(node: 2, canonical: "SORT banana").tokens(in: vocabulary)
        var parsed = 0
        for round in 0..<6000 {
            var tokens: [Int32]
            switch round % 3 {
            case 0:
                tokens = (0..<draw(24)).map { _ in Int32(draw(vocabulary.size + 8)) - 4 }
            case 1:
                tokens = valid
                let position = draw(tokens.count)
                switch draw(3) {
                case 0: tokens[position] = Int32(draw(vocabulary.size))
                case 1: tokens.insert(Int32(draw(vocabulary.size)), at: position)
                default: tokens.remove(at: position)
                }
            default:
                let bytes = (0..<draw(40)).map { _ in UInt8(draw(256)) }
                let text = String(decoding: bytes, as: UTF8.self)
                do {
                    _ = try MasterOutput.parse(text, vocabulary: vocabulary)
                    parsed += 1
                } catch {
                    guard case .unparsable = error else { Issue.record("\(error)"); continue }
                }
                continue
            }
            do {
                let output = try MasterOutput.parse(tokens, vocabulary: vocabulary)
                #expect(try output.tokens(in: vocabulary) == tokens)
                parsed += 1
            } catch {
                guard case .unparsable = error else { Issue.record("\(error)"); continue }
            }
        }
        #expect(parsed > 0)  // substitutions inside the canonical text still parse
    }
}
