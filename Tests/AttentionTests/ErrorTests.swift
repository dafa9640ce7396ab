import Attention
import NumericTestSupport
import TensorCore
import Testing

/// Bad shapes are refused with an error that names the shapes; bad numbers are not refused but
/// propagate (NaN in, NaN out on the rows it touches, never a crash).
@Suite("Errors and NaN")
struct ErrorTests {
    struct ShapeCase: Sendable, CustomTestStringConvertible {
        var name: String
        var query: [Int], key: [Int], value: [Int]
        /// The shapes the error must name, as `Tensor.describe` writes them.
        var named: [[Int]]
        var testDescription: String { name }
    }

    static let shapeCases: [ShapeCase] = [
        ShapeCase(name: "query of rank 2", query: [4, 8], key: [5, 1, 8], value: [5, 1, 8],
                  named: [[4, 8], [5, 1, 8]]),
        ShapeCase(name: "key of rank 2", query: [4, 2, 8], key: [5, 8], value: [5, 1, 8],
                  named: [[5, 8], [5, 1, 8]]),
        ShapeCase(name: "value of rank 4", query: [4, 2, 8], key: [5, 1, 8], value: [5, 1, 8, 1],
                  named: [[5, 1, 8], [5, 1, 8, 1]]),
        ShapeCase(name: "H not a multiple of Hkv", query: [4, 3, 8], key: [5, 2, 8], value: [5, 2, 8],
                  named: [[4, 3, 8], [5, 2, 8]]),
        ShapeCase(name: "head dimension mismatch", query: [4, 2, 8], key: [5, 1, 6], value: [5, 1, 6],
                  named: [[4, 2, 8], [5, 1, 6]]),
        ShapeCase(name: "key and value differ", query: [4, 2, 8], key: [5, 1, 8], value: [6, 1, 8],
                  named: [[5, 1, 8], [6, 1, 8]]),
    ]

    static func tensors(_ c: ShapeCase) throws -> (Tensor, Tensor, Tensor) {
        (try Tensor(zeros: c.query), try Tensor(zeros: c.key), try Tensor(zeros: c.value))
    }

    static func expectNames(_ error: AttentionError?, _ c: ShapeCase, _ call: String,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }               // #expect(throws:) has already failed
        guard case .shape = error else {
            Issue.record("\(call): expected AttentionError.shape, got \(error)", sourceLocation: sourceLocation)
            return
        }
        for shape in c.named {
            #expect(error.description.contains(Tensor.describe(shape)),
                    "\(call): \"\(error)\" does not name \(Tensor.describe(shape))", sourceLocation: sourceLocation)
        }
    }

    @Test("AttentionShape names the shapes that do not fit", arguments: shapeCases)
    func attentionShape(_ c: ShapeCase) {
        let error = #expect(throws: AttentionError.self) {
            _ = try AttentionShape(query: c.query, key: c.key, value: c.value)
        }
        Self.expectNames(error, c, "AttentionShape")
    }

    @Test("blockwise forward names the shapes that do not fit", arguments: shapeCases)
    func blockwiseForward(_ c: ShapeCase) throws {
        let (q, k, v) = try Self.tensors(c)
        let error = #expect(throws: AttentionError.self) {
            _ = try BlockwiseAttention().forward(query: q, key: k, value: v)
        }
        Self.expectNames(error, c, "forward")
    }

    @Test("blockwise backward names the shapes that do not fit", arguments: shapeCases)
    func blockwiseBackward(_ c: ShapeCase) throws {
        let (q, k, v) = try Self.tensors(c)
        // A result and gradient that fit the query, so only q/k/v can be at fault.
        let rows = c.query.count == 3 ? c.query : [1, 1, 1]
        let result = PartialAttention(empty: rows[0], heads: rows[1], headDimension: rows[2])
        let error = #expect(throws: AttentionError.self) {
            _ = try BlockwiseAttention().backward(query: q, key: k, value: v, result: result,
                                                  outputGradient: Tensor(zeros: c.query))
        }
        Self.expectNames(error, c, "backward")
    }

    @Test("reference forward on tensors names the shapes that do not fit", arguments: shapeCases)
    func referenceForward(_ c: ShapeCase) throws {
        let (q, k, v) = try Self.tensors(c)
        let error = #expect(throws: AttentionError.self) {
            _ = try ReferenceAttention.forward(query: q, key: k, value: v, mask: .none, score: .softmax)
        }
        Self.expectNames(error, c, "ReferenceAttention.forward")
    }

    @Test("a window below 1 and block sizes below 1 are refused")
    func badParameters() throws {
        let inputs = AttentionInputs(queries: 3, keys: 3, heads: 1, keyHeads: 1, headDimension: 4, seed: 1)
        for attention in [BlockwiseAttention(mask: AttentionMask(window: 0)),
                          BlockwiseAttention(queryBlock: 0), BlockwiseAttention(keyBlock: 0)] {
            #expect(throws: AttentionError.self, "\(attention.mask), blocks \(attention.queryBlock)×\(attention.keyBlock)") {
                _ = try attention.forward(query: inputs.query, key: inputs.key, value: inputs.value)
            }
        }
    }

    enum NaNPlace: String, CaseIterable, Sendable { case query, key, value }

    struct NaNCase: Sendable, CustomTestStringConvertible {
        var place: NaNPlace
        var score: ScoreFunction
        var testDescription: String { "NaN in \(place), \(score)" }
    }

    static let nanCases = NaNPlace.allCases.flatMap { place in
        ScoreFunction.allCases.map { NaNCase(place: place, score: $0) }
    }

    /// Runs the blockwise forward on inputs with one NaN, and the float64 reference on the same.
    ///
    /// A NaN in query row (5, head 1) touches that row only; a NaN in key or value row 6 (kv head 0)
    /// touches the rows of heads 0–1 that see key 6 under the causal mask, i.e. queries 6…; a NaN in
    /// one value coordinate reaches only that coordinate. The reference defines the pattern.
    static func nanOutputs(_ c: NaNCase) throws -> (actual: [Float], expected: [Double]) {
        let (n, m, heads, keyHeads, d) = (20, 20, 4, 2, 8)
        let clean = AttentionInputs(queries: n, keys: m, heads: heads, keyHeads: keyHeads, headDimension: d, seed: 77)
        var q = clean.queryValues, k = clean.keyValues, v = clean.valueValues
        switch c.place {
        case .query: q[(5 * heads + 1) * d + 3] = .nan
        case .key: k[(6 * keyHeads + 0) * d + 2] = .nan
        case .value: v[(6 * keyHeads + 0) * d + 2] = .nan
        }
        let inputs = AttentionInputs(queries: n, keys: m, heads: heads, keyHeads: keyHeads, headDimension: d,
                                     query: q, key: k, value: v)
        let mask = AttentionMask.causal()
        let result = try BlockwiseAttention(mask: mask, score: c.score, threads: 1, queryBlock: 16, keyBlock: 16)
            .forward(query: inputs.query, key: inputs.key, value: inputs.value)
        return (result.output.storage, inputs.referenceForward(mask: mask, score: c.score).output)
    }

    /// "(i, h) c" for the first few flat indices of `[20, 4, 8]`.
    static func name(_ elements: [Int]) -> String {
        elements.prefix(6).map { "(\($0 / 32), \($0 / 8 % 4)) \($0 % 8)" }.joined(separator: "; ")
            + (elements.count > 6 ? "; … (\(elements.count) in all)" : "")
    }

    /// NaN propagates: every output element that the NaN feeds is NaN (and nothing crashes).
    @Test("NaN input gives NaN on the affected rows, not a crash", arguments: nanCases)
    func nanReachesAffectedRows(_ c: NaNCase) throws {
        let (actual, expected) = try Self.nanOutputs(c)
        let affected = expected.indices.filter { expected[$0].isNaN }
        #expect(!affected.isEmpty, "the reference must be affected")
        let missed = affected.filter { !actual[$0].isNaN }
        #expect(missed.isEmpty, "not NaN at (i, h) c: \(Self.name(missed))")
    }

    /// NaN stays where it belongs: elements the NaN does not feed and that the documented bound
    /// excludes are finite and match the reference. A NaN in a query or key stays exactly in the
    /// rows the reference marks (masked scores are overwritten). A NaN in value coordinate c of
    /// key/value head g may also reach coordinate c of rows the mask hides it from, but only in the
    /// query heads of g: the P·V product multiplies it by a zero weight, and 0·NaN is NaN.
    @Test("NaN input leaves the other rows untouched", arguments: nanCases)
    func nanStaysInAffectedRows(_ c: NaNCase) throws {
        let (actual, expected) = try Self.nanOutputs(c)
        let unaffected = expected.indices.filter { !expected[$0].isNaN }
        // [20, 4, 8]: heads 0–1 read key/value head 0; the NaN sits in coordinate 2.
        let mayLeak: (Int) -> Bool = { c.place == .value && $0 / 8 % 4 < 2 && $0 % 8 == 2 }
        let leaked = unaffected.filter { actual[$0].isNaN && !mayLeak($0) }
        #expect(leaked.isEmpty, "NaN leaked to \(leaked.count) unaffected elements at (i, h) c: \(Self.name(leaked))")
        let clean = unaffected.filter { !actual[$0].isNaN }
        let report = ErrorReport(clean.map { actual[$0] }, clean.map { expected[$0] })
        #expect(report.relative <= BlockwiseForwardTests.tolerance, "unaffected elements: \(report)")
    }
}
