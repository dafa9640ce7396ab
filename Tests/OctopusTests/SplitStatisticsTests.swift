import Testing
@testable import Octopus

@Suite struct SplitStatisticsTests {
    @Test func statisticsAddUp() throws {
        var generator = QueryGenerator(seed: 11)
        let examples = try generator.examples(for: .train, count: 2000)
        let statistics = SplitStatistics(examples, split: .train)
        #expect(statistics.count == 2000)
        #expect(statistics.countByDomain.values.reduce(0, +) == 2000)
        for domain in Domain.allCases {
            #expect(statistics.countByDomain[domain] == examples.filter { $0.domain == domain }.count)
        }
        let queryCharacters = examples.map(\.query.count).reduce(0, +)
        #expect(abs(statistics.meanQueryLength - Double(queryCharacters) / 2000) <= 1e-12)
        let answerCharacters = examples.map(\.answer.count).reduce(0, +)
        #expect(abs(statistics.meanAnswerLength - Double(answerCharacters) / 2000) <= 1e-12)
        #expect(statistics.templatesUsed == 180)  // 6 domains × 30 train templates, all drawn in 2000
        #expect(statistics.distinctQueries <= 2000 && statistics.distinctQueries > 1000)

        let metrics = statistics.metrics
        #expect(metrics["split.train.count"] == 2000)
        #expect(metrics["split.train.count.ADD"] == Double(statistics.countByDomain[.add]!))
        let perDomain = Domain.allCases.map { metrics["split.train.count.\($0.name)"] ?? -1 }
        #expect(perDomain.reduce(0, +) == 2000)
        #expect(metrics["split.train.templates_used"] == 180)
        #expect(metrics["split.train.mean_length.canonical"] == statistics.meanCanonicalLength)
        #expect(metrics.count == 6 + 6)
    }

    @Test func anEmptySplitHasZeroMeans() {
        let statistics = SplitStatistics([], split: .test)
        #expect(statistics.count == 0 && statistics.meanQueryLength == 0 && statistics.templatesUsed == 0)
        #expect(statistics.metrics["split.test.count.FACT"] == 0)
    }
}
