import Models
import Testing

/// Configurations are checked before anything is allocated.
@Suite struct ModelConfigTests {
    @Test func aGoodConfigurationPassesAndCountsItsParameters() throws {
        let config = ModelConfig(vocabulary: 67, context: 256, layers: 1, dModel: 64, heads: 1)
        try config.validate()
        // 67·64 + 256·64 + 2·64 + 64·67 + (2·64 + 4·64²) + (2·64 + 2·64·256)
        #expect(config.parameterCount == 4288 + 16384 + 128 + 4288 + (128 + 16384) + (128 + 32768))
    }

    @Test(arguments: [
        (ModelConfig(vocabulary: 67, context: 64, layers: 1, dModel: 64, heads: 3), "must divide d_model"),
        (ModelConfig(vocabulary: 67, context: 64, layers: 1, dModel: -8, heads: 1), "d_model must be positive"),
        (ModelConfig(vocabulary: 67, context: 64, layers: 0, dModel: 64, heads: 1), "at least 1 layer"),
        (ModelConfig(vocabulary: 1, context: 64, layers: 1, dModel: 64, heads: 1), "vocabulary"),
        (ModelConfig(vocabulary: 67, context: 0, layers: 1, dModel: 64, heads: 1), "context"),
    ])
    func aBadConfigurationIsNamed(config: ModelConfig, phrase: String) {
        #expect { try config.validate() } throws: { "\($0)".contains(phrase) }
    }

    @Test func theArenaLaysOutNamedTensorsOnCacheLines() throws {
        let store = ParameterStore([("a", [3, 5], true), ("b", [7], false)])
        #expect(store.entry("a")?.offset == 0 && store.entry("b")?.offset == 16 && store.count == 32)
        store.value("b")[6] = 2
        #expect(store.tensor("b")?.storage.last == 2)
        #expect(throws: ModelError.self) { try store.set("a", from: .init(zeros: [5, 3])) }
    }
}
