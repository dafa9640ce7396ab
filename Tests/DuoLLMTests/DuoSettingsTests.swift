import Foundation
import Models
import ProcessTestSupport
import Tasks
import Testing
@testable import DuoLLM

/// Bad settings are clear errors before any work.
@Suite struct DuoSettingsTests {
    static func settings(_ values: [String: ParameterValue]) throws -> OracleSettings {
        OracleSettings(ResolvedParameters(try OracleSettings.declaration.resolve(values, kind: "duo.oracle")))
    }

    @Test func outOfRangeValuesFailWhenTheFileIsRead() throws {
        let pBig = DuoTrainParameters.declaration.first { $0.name == "p_big" }!
        #expect(pBig.problem(with: .double(1.5)) != nil && pBig.problem(with: .double(0.75)) == nil)
        let activation = DuoTrainParameters.declaration.first { $0.name == "activation" }!
        #expect(activation.problem(with: .string("tanh")) != nil)
    }

    @Test func budgetsRoutesAndDepthAreChecked() throws {
        let tooLarge = try Self.settings(["budgets": .string("1,4")])
        #expect(throws: ModelError.self) { try tooLarge.check(layers: 3) }
        do { try tooLarge.check(layers: 3); Issue.record("k = 4 > L = 3 passed") } catch {
            #expect("\(error)".contains("k = 4") && "\(error)".contains("0…3"), "\(error)")
        }
        do { try Self.settings(["routes": .string("BSX")]).check(layers: 3); Issue.record("letter X passed") } catch {
            #expect("\(error)".contains("'X'"), "\(error)")
        }
        #expect(throws: ModelError.self) { try Self.settings(["routes": .string("BS")]).check(layers: 3) }
        #expect(throws: ModelError.self) { try Self.settings(["routes": .string("BSK")]).check(layers: 3) }
        try Self.settings(["routes": .string("BSK"), "skip_routes": .bool(true)]).check(layers: 3)
        do { _ = try RouteSet(layers: 11, skip: true); Issue.record("3^11 routes passed") } catch {
            #expect("\(error)".contains("3^11") && "\(error)".contains("full forward"), "\(error)")
        }
        #expect(try RouteSet(layers: 15, skip: false).count == 32_768)
    }

    @Test func aMissingEmptyOrBinaryCorpusIsRefused() throws {
        let scratch = try TemporaryDirectory()
        try Data().write(to: scratch.url.appendingPathComponent("empty.txt"))
        try Data([65, 0, 66]).write(to: scratch.url.appendingPathComponent("binary.txt"))
        for (name, words) in [("missing.txt", "does not exist"), ("empty.txt", "empty"), ("binary.txt", "binary")] {
            do { _ = try OracleRun.corpus(scratch.path(name)); Issue.record("\(name) passed") } catch {
                #expect("\(error)".contains(words) && "\(error)".contains(name), "\(error)")
            }
        }
    }

    @Test func aCheckpointWithoutDuoLayersIsRefused() throws {
        let scratch = try TemporaryDirectory()
        let config = ModelConfig(vocabulary: 5, context: 4, layers: 2, dModel: 8, heads: 2)
        let model = try Transformer(config: config, seed: 0, maxBatch: 1)
        let directory = scratch.url.appendingPathComponent("plain")
        try Checkpoint.save(to: directory, step: 0, config: config, parameters: model.parameters,
                            optimizer: OptimizerSettings.adamw().make(for: model.parameters))
        let values = try OracleParameters.declaration.resolve(["checkpoint": .string(directory.path)], kind: "duo.oracle")
        do { _ = try OracleKind.check(OracleParameters(ResolvedParameters(values))); Issue.record("a plain model passed") } catch {
            #expect("\(error)".contains("without duo layers"), "\(error)")
        }
    }
}

/// The controls' settings: the reading, the default route and the null's dropout.
@Suite struct ControlSettingsTests {
    @Test func readingDefaultRouteAndDropoutAreChecked() throws {
        let both = try DuoSettingsTests.settings([:])
        #expect(both.readsSharedRoute && both.readsFixedContext && both.nullControl && both.nullDropout == 0.1)
        #expect(try both.defaultRouteChoices(layers: 3) == [.big, .big, .big])
        let shared = try DuoSettingsTests.settings(["reading": .string("shared_route")])
        #expect(shared.readsSharedRoute && !shared.readsFixedContext)
        let reading = OracleSettings.declaration.first { $0.name == "reading" }!
        #expect(reading.problem(with: .string("fixed")) != nil && reading.problem(with: .string("fixed_context")) == nil)
        let dropout = OracleSettings.declaration.first { $0.name == "null_dropout" }!
        #expect(dropout.problem(with: .double(1)) != nil && dropout.problem(with: .double(-0.1)) != nil)
        // Skip is allowed in the context even without skip routes: it is not a candidate.
        try DuoSettingsTests.settings(["default_route": .string("BKS")]).check(layers: 3)
        do { try DuoSettingsTests.settings(["default_route": .string("BB")]).check(layers: 3); Issue.record("a short route passed") } catch {
            #expect("\(error)".contains("default_route") && "\(error)".contains("3 layers"), "\(error)")
        }
        do { try DuoSettingsTests.settings(["default_route": .string("BQB")]).check(layers: 3); Issue.record("letter Q passed") } catch {
            #expect("\(error)".contains("'Q'"), "\(error)")
        }
    }
}
