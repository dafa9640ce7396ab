import Models
import Testing

/// Inputs that do not fit the model are `ModelError.input` naming the problem, never a crash.
@Suite struct TransformerInputTests {
    static let config = TransformerFixture.config(layers: [.init()])

    enum BadInput: String, CaseIterable, Sendable {
        case token, negativeToken, target, negativeTarget, shortTokens, longTargets, batchZero, batchTooLarge, batchMinimum

        /// Spoils a good batch; returns the phrase the error must contain.
        func apply(_ tokens: inout [Int32], _ targets: inout [Int32], _ batch: inout Int) -> String {
            switch self {
            case .token: tokens[4] = 11; return "token 11 at sequence 0, position 4"
            case .negativeToken: tokens[0] = -1; return "token -1"
            case .target: targets[9] = 11; return "target 11 at sequence 1, position 2"
            case .negativeTarget: targets[2] = -2; return "target -2"
            case .shortTokens: tokens.removeLast(); return "tokens has 20 ids"
            case .longTargets: targets.append(0); return "targets has 22 ids"
            case .batchZero: batch = 0; return "batch 0"
            case .batchTooLarge: batch = 4; return "batch 4"
            case .batchMinimum: batch = .min; return "batch \(Int.min)"
            }
        }
    }

    @Test(arguments: BadInput.allCases)
    func badInputsAreNamed(_ bad: BadInput) throws {
        let model = try Transformer(config: Self.config, seed: 1, maxBatch: 3)
        var (tokens, targets) = TransformerFixture.inputs(Self.config)
        var batch = 3
        let phrase = bad.apply(&tokens, &targets, &batch)
        #expect {
            try model.forward(tokens: tokens, targets: targets, batch: batch)
        } throws: { error in
            guard case let .input(text) = error as? ModelError else { return false }
            return text.contains(phrase)
        }
    }

    @Test func badInterventionsAreNamed() throws {
        let model = try Transformer(config: Self.config, seed: 1, maxBatch: 3)
        let (tokens, targets) = TransformerFixture.inputs(Self.config)
        model.interventions.zeroedHeads = [.init(layer: 0, head: 2)]
        #expect(throws: ModelError.input("intervention zeroedHeads names head 2 of layer 0, but layers have heads 0..<2")) {
            try model.forward(tokens: tokens, targets: targets, batch: 3)
        }
        model.interventions = Interventions()
        model.interventions.removedLayers = [1]
        #expect { try model.forward(tokens: tokens, targets: targets, batch: 3) } throws: { "\($0)".contains("layer 1") }
        model.interventions = Interventions()
        model.interventions.forcedAttention = [.init(layer: 0, head: 0): .init { $0 + 1 }]
        #expect { try model.forward(tokens: tokens, targets: targets, batch: 3) } throws: { "\($0)".contains("query 0 of sequence 0 to key 1") }
    }

    @Test func aBadMaxBatchIsAConfigurationError() {
        #expect { try Transformer(config: Self.config, seed: 1, maxBatch: 0) } throws: { "\($0)".contains("maxBatch") }
    }
}
