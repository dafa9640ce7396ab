import Testing
import Tasks

@Suite struct MetricCatalogTests {
    let catalog = MetricCatalog([
        MetricSpec("gflops", "throughput", unit: "GFLOP/s"),
        MetricSpec("L*.H*.sink_logit_margin", "sink logit margin", unit: "nats"),
        MetricSpec("rank*.wall_s", "wall time", unit: "s"),
        MetricSpec("gflops", "a second declaration, ignored"),
    ])

    @Test func exactNamesTakeTheirLabelAndUnit() {
        #expect(catalog.spec(for: "gflops")?.label == "throughput")
        #expect(catalog.axisTitle(for: "gflops") == "throughput (GFLOP/s)")
    }

    @Test func familiesMatchEachStarToOneDotFreePart() throws {
        let spec = try #require(catalog.spec(for: "L2.H11.sink_logit_margin"))
        #expect(spec.name == "L2.H11.sink_logit_margin")
        #expect(spec.label == "sink logit margin, L2.H11")
        #expect(spec.unit == "nats")
        #expect(catalog.axisTitle(for: "rank3.wall_s") == "wall time, rank3 (s)")
        // A star needs at least one character, and dots are not crossed.
        #expect(catalog.spec(for: "L.H1.sink_logit_margin") == nil)
        #expect(catalog.spec(for: "L0.H1.x.sink_logit_margin") == nil)
        #expect(catalog.spec(for: "rank.wall_s") == nil)
    }

    @Test func aRankPrefixTakesTheRanksOwnMetricsLabel() {
        #expect(catalog.axisTitle(for: "rank1.gflops") == "throughput, rank 1 (GFLOP/s)")
        #expect(catalog.axisTitle(for: "rank1.L0.H2.sink_logit_margin") == "sink logit margin, L0.H2, rank 1 (nats)")
        #expect(catalog.spec(for: "rankx.gflops") == nil)
        #expect(catalog.spec(for: "rank-1.gflops") == nil)
    }

    @Test func undeclaredNamesKeepTheirStoredName() {
        #expect(catalog.spec(for: "bytes_sent") == nil)
        #expect(catalog.axisTitle(for: "bytes_sent") == "bytes_sent")
        #expect(catalog.names == ["L*.H*.sink_logit_margin", "gflops", "rank*.wall_s"])
    }

    @Test func aFamilyNamesItsMembersAndTheCatalogFindsThemAgain() {
        let family = MetricSpec("L*.H*.sink_logit_margin", "sink logit margin", unit: "nats")
        #expect(family.instance(0, 3) == "L0.H3.sink_logit_margin")
        #expect(catalog.spec(for: family.instance(1, 2))?.unit == "nats")
        var outcome = TaskOutcome()
        outcome[MetricSpec("gflops", "throughput")] = .double(2.5)
        #expect(outcome.metrics == ["gflops": .double(2.5)])
    }
}
