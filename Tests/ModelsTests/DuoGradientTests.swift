import Models
import NumericTestSupport
import ModelTestSupport
import Testing

/// The duo FFN (big and small MLPs side by side, routes per token and layer) against the float64
/// reference and its central differences, for every route kind and a mixed batch.
@Suite struct DuoGradientTests {
    enum Routing: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case allBig, allSmall, allSkip, mixed, mixedWithoutSkip
        var testDescription: String { rawValue }

        /// The routes of `tokens` tokens over `layers` layers (nil routes equal all big: see
        /// `allBigEqualsDefaultAndRoutesAreRowLocal`).
        func routes(tokens: Int, layers: Int) throws -> DuoRoutes {
            switch self {
            case .allBig: return DuoRoutes(uniform: Array(repeating: .big, count: layers), tokens: tokens)
            case .allSmall: return DuoRoutes(uniform: Array(repeating: .small, count: layers), tokens: tokens)
            case .allSkip: return DuoRoutes(uniform: Array(repeating: .skip, count: layers), tokens: tokens)
            case .mixed: return try RandomRouting(pBig: 0.4, pSkip: 0.3, seed: 7).routes(tokens: tokens, layers: layers, step: 0)
            case .mixedWithoutSkip: return try RandomRouting(seed: 8).routes(tokens: tokens, layers: layers, step: 3)
            }
        }
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var routing: Routing
        var activation: ModelConfig.Activation
        var testDescription: String { "\(routing.rawValue), \(activation.rawValue)" }
    }

    static let cases: [Case] = Routing.allCases.map { Case(routing: $0, activation: .relu) }
        + [Case(routing: .mixed, activation: .gelu)]

    /// Two duo layers (softmax then ReLU attention) and a plain MLP layer between them, so duo
    /// and non-duo layers share one pass. d = 8: big hidden 16, small hidden 2.
    static func config(_ activation: ModelConfig.Activation) -> ModelConfig {
        TransformerFixture.config(layers: [.init(attention: .softmax, ffn: .mlp, duo: true), .init(attention: .softmax, ffn: .mlp),
                                           .init(attention: .relu, ffn: .mlp, duo: true)], activation: activation)
    }

    /// Same tolerances as `TransformerGradientTests`: loss within 1e-5 relative of float64;
    /// ‖analytic − numeric‖/‖numeric‖ ≤ 1e-3 per tensor (h = 1e-6, float64 central differences;
    /// absolute when the numeric gradient is all zero, as for a module no token takes). Tensors of
    /// more than 24 entries are sampled (24, not 48: the model has 3 layers and 6 route cases).
    @Test(arguments: cases)
    func gradientsMatchFloat64FiniteDifferences(_ testCase: Case) throws {
        let config = Self.config(testCase.activation)
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let batch = TransformerFixture.batch
        let routes = try testCase.routing.routes(tokens: batch * config.context, layers: config.depth)
        model.routes = routes
        let loss = try model.forward(tokens: tokens, targets: targets, batch: batch)
        model.backward()

        var reference = ReferenceTransformer(model)
        let expected = reference.loss(tokens: tokens, targets: targets, batch: batch, routes: routes)
        #expect(abs(Double(loss) - expected) / abs(expected) <= 1e-5, "loss \(loss) against float64 \(expected)")

        TransformerFixture.expectGradientsMatch(model, reference: &reference, samples: 24, seed: 5) {
            $0.loss(tokens: tokens, targets: targets, batch: batch, routes: routes)
        }
    }

    /// Routes cost only what they choose: the packed row counts follow the routes, a batch that
    /// skips everywhere runs no FFN product, and all-small runs the same number as all-big
    /// (on 16× narrower matrices).
    @Test func productsFollowTheRoutes() throws {
        let config = Self.config(.relu)
        let model = try TransformerFixture.model(config)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let n = TransformerFixture.batch * config.context
        model.routes = DuoRoutes(uniform: [.skip, .skip, .skip], tokens: n)
        _ = try model.forward(tokens: tokens, targets: targets, batch: 3)
        model.backward()
        #expect(model.duoFFNProducts == 0)
        #expect(model.duoRowCounts[0] == DuoRowCount(big: 0, small: 0, skip: n))
        #expect(model.duoRowCounts[1] == DuoRowCount(big: 0, small: 0, skip: 0))   // not a duo layer

        let routes = try RandomRouting(pBig: 0.5, pSkip: 0.25, seed: 3).routes(tokens: n, layers: 3, step: 1)
        model.routes = routes
        _ = try model.forward(tokens: tokens, targets: targets, batch: 3)
        for l in [0, 2] {
            let column = (0..<n).map { routes.choices[$0 * 3 + l] }
            let expected = DuoRowCount(big: column.filter { $0 == .big }.count, small: column.filter { $0 == .small }.count,
                                       skip: column.filter { $0 == .skip }.count)
            #expect(model.duoRowCounts[l] == expected)
            #expect(expected.big > 0 && expected.small > 0 && expected.skip > 0)
        }
        #expect(model.duoFFNProducts == 2 * 4)          // forward: 2 modules × 2 layers × 2 products
        model.backward()
        #expect(model.duoFFNProducts == 2 * 4 + 4 * 4)  // backward: 4 products per used module

        model.routes = DuoRoutes(uniform: [.small, .big, .small], tokens: n)
        _ = try model.forward(tokens: tokens, targets: targets, batch: 3)
        #expect(model.duoFFNProducts == 2 * 2)
        #expect(model.duoRowCounts[2] == DuoRowCount(big: 0, small: n, skip: 0))
    }

    /// All-big routes give the same loss and gradients as nil routes, and a duo model's big
    /// parameters keep the plain MLP's names; a mixed batch equals each token run alone on its route
    /// (rows do not leak between modules).
    @Test func allBigEqualsDefaultAndRoutesAreRowLocal() throws {
        let config = Self.config(.gelu)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let n = TransformerFixture.batch * config.context
        let a = try TransformerFixture.model(config), b = try TransformerFixture.model(config)
        b.routes = DuoRoutes(uniform: [.big, .big, .big], tokens: n)
        #expect(try a.forward(tokens: tokens, targets: targets, batch: 3) == b.forward(tokens: tokens, targets: targets, batch: 3))
        a.backward(); b.backward()
        #expect(TransformerFixture.gradient(a, "layers.0.ffn.w1") == TransformerFixture.gradient(b, "layers.0.ffn.w1"))
        #expect(a.parameters.entry("layers.2.ffn.small.w1")?.shape == [8, 2])
        #expect(config.parameterCount == a.parameters.entries.reduce(0) { $0 + $1.count })

        let mixed = try RandomRouting(pBig: 0.3, pSkip: 0.3, seed: 4).routes(tokens: n, layers: 3, step: 0)
        a.routes = mixed
        var losses = [Float](repeating: 0, count: n)
        _ = try losses.withUnsafeMutableBufferPointer {
            try a.forward(tokens: tokens, targets: targets, batch: 3, positionLosses: $0.baseAddress)
        }
        let expected = ReferenceTransformer(a).run(tokens: tokens, targets: targets, batch: 3, routes: mixed).positionLosses
        let report = ErrorReport(losses, expected)
        #expect(report.relative <= 1e-5, "\(report)")
    }

    /// One thread and two, and OpenBLAS products, agree on a mixed batch (gather and scatter are
    /// split across workers).
    @Test func threadsAgreeOnMixedRoutes() throws {
        let config = Self.config(.gelu)
        let (tokens, targets) = TransformerFixture.inputs(config)
        let routes = try RandomRouting(pBig: 0.4, pSkip: 0.3, seed: 6).routes(tokens: 21, layers: 3, step: 2)
        let one = try TransformerFixture.model(config, threads: 1), two = try TransformerFixture.model(config, threads: 2)
        let blas = try TransformerFixture.model(config, threads: 2)
        blas.usesOpenBLASProducts = true
        var losses: [Float] = []
        for model in [one, two, blas] {
            model.routes = routes
            losses.append(try model.forward(tokens: tokens, targets: targets, batch: 3))
            model.backward()
        }
        #expect(abs(losses[1] - losses[0]) <= 1e-6 * abs(losses[0]) && abs(losses[2] - losses[0]) <= 1e-6 * abs(losses[0]))
        for entry in one.parameters.entries {
            let expected = TransformerFixture.gradient(one, entry.name).map(Double.init)
            for model in [two, blas] {
                let report = ErrorReport(TransformerFixture.gradient(model, entry.name), expected)
                #expect(report.relative <= 5e-5, "\(entry.name): \(report)")
            }
        }
    }
}
