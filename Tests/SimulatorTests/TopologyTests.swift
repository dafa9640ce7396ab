import Experiments
import Foundation
import Simulator
import Testing

/// The built topologies route as their hardware does, the presets load, and a bad topology file
/// is an error at its file:line that says what to write.
@Suite struct TopologyTests {
    static let link = Topology.LinkSpec(bandwidth: 10e9, latency: 1e-6)

    @Test func pcieTreeKeepsTrafficUnderASwitchAndSharesTheUplinks() throws {
        let network = try Topology.network(.pcieTree, ranks: 4, link: Self.link, uplink: .init(bandwidth: 4e9, latency: 2e-6), group: 2)
        #expect(try network.route(from: 0, to: 1).resources.count == 2)          // rank → switch → rank
        let across = try network.route(from: 0, to: 2)
        #expect(across.resources.count == 4 && abs(across.latency - 6e-6) < 1e-12)   // up, uplink, uplink, down
        // Two flows leaving switch 0 at once share its 4 GB/s uplink: 2 GB/s each.
        let finish = try FlowSimulation(network: network).finishTimes([.init(from: 0, to: 2, bytes: 2e9), .init(from: 1, to: 3, bytes: 2e9)])
        #expect(finish.allSatisfy { abs($0 - (6e-6 + 1.0)) < 1e-9 }, "\(finish)")
    }

    @Test func fatTreeTalksInsideANodeOverNVLinkAndAcrossOverTheNICs() throws {
        let nic = Topology.LinkSpec(bandwidth: 1e9, latency: 5e-6)
        let network = try Topology.network(.fatTree, ranks: 16, link: Self.link, nic: nic, group: 4, nodesPerLeaf: 2)
        #expect(abs(try network.route(from: 0, to: 3).latency - 2e-6) < 1e-12)    // through its node's switch
        #expect(abs(try network.route(from: 0, to: 4).latency - 10e-6) < 1e-12)   // same leaf: NIC, NIC
        #expect(abs(try network.route(from: 0, to: 8).latency - 20e-6) < 1e-12)   // other leaf: NIC, up, down, NIC
        #expect(throws: Network.Problem.self) { try Topology.network(.fatTree, ranks: 10, link: Self.link, nic: nic, group: 4) }
    }

    @Test func everyPresetLoadsWithItsSource() throws {
        let presets = TopologyFile.presets()
        #expect(Set(presets.keys) == ["8xA100-nvlink", "8xH800-nvlink", "4xA10-pcie", "8xL20-pcie", "ib-fat-tree"])
        for name in presets.keys {
            let topology = try TopologyFile.named(name)
            #expect(topology.name == name && !topology.source.isEmpty && topology.compute != nil)
            #expect(topology.network.nodes >= topology.ranks)
        }
        #expect(try TopologyFile.named("ib-fat-tree", ranks: 64).ranks == 64)
    }

    /// Writes `text` as a topology file and returns the error loading it gives.
    static func problem(_ text: String) throws -> ExperimentError? {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("loom-topology-\(UUID().uuidString).yaml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        do { _ = try TopologyFile.load(path: file.path) } catch { return error }
        return nil
    }

    static let good = """
        name: two
        source: "a test"
        kind: ring
        ranks: 4
        link: {gbytes_per_s: 10, latency_us: 1}
        """

    @Test func badFilesAreErrorsAtTheirLine() throws {
        #expect(try Self.problem(Self.good) == nil)
        let typo = try #require(try Self.problem(Self.good + "\nlinks_per_node: 3"))
        #expect(typo.line == 6 && typo.message.contains("unknown key 'links_per_node'"))
        let misspelt = try #require(try Self.problem(Self.good.replacingOccurrences(of: "ranks: 4", with: "rankz: 4")))
        #expect(misspelt.line == 4 && misspelt.message.contains("did you mean 'ranks'"), "\(misspelt)")
        let negative = try #require(try Self.problem(Self.good.replacingOccurrences(of: "gbytes_per_s: 10", with: "gbytes_per_s: -3")))
        #expect(negative.line == 5 && negative.message.contains("must be a number above 0"), "\(negative)")
        let kind = try #require(try Self.problem(Self.good.replacingOccurrences(of: "kind: ring", with: "kind: torus")))
        #expect(kind.line == 3 && kind.message.contains("unknown kind 'torus'"))
        let duplex = try #require(try Self.problem(Self.good.replacingOccurrences(of: "latency_us: 1}", with: "latency_us: 1, duplex: simplex}")))
        #expect(duplex.line == 5 && duplex.message.contains("full or half"))
        let shape = try #require(try Self.problem(Self.good.replacingOccurrences(of: "kind: ring", with: "kind: pcie_tree\nper_switch: 3\nuplink: {gbytes_per_s: 1}")))
        #expect(shape.message.contains("per_switch dividing ranks"), "\(shape)")
        // Within 1e-6…1e6 like loom sim's options, at the key written (1e308 GB/s was named at kind:).
        for (from, to, line) in [("gbytes_per_s: 10", "gbytes_per_s: 1e308", 5), ("gbytes_per_s: 10", "gbytes_per_s: 1e-308", 5),
                                 ("latency_us: 1", "latency_us: 1e308", 5)] {
            let huge = try #require(try Self.problem(Self.good.replacingOccurrences(of: from, with: to)))
            #expect(huge.line == line && huge.message.contains("1000000"), "\(to): \(huge)")
        }
        let compute = try #require(try Self.problem(Self.good + "\ncompute: {tflops: 1e308, forward: 0.5, backward: 0.5, memory_gbytes_per_s: 600, merge: 0.4}"))
        #expect(compute.message.contains("'compute.tflops' is 1e+308; give 1e-6 to 1000000"), "\(compute)")
    }

    @Test func aCustomTopologyWithADisconnectedRankIsRefused() throws {
        let connected = """
            name: custom
            source: "a test"
            kind: custom
            ranks: 3
            nodes: 4
            links:
              - {from: 0, to: 3, gbytes_per_s: 5}
              - {from: 1, to: 3, gbytes_per_s: 5, latency_us: 2}
              - {from: 2, to: 3, gbytes_per_s: 5, duplex: half}
            """
        #expect(try Self.problem(connected) == nil)
        let island = try #require(try Self.problem(connected.replacingOccurrences(of: "{from: 2, to: 3", with: "{from: 3, to: 1")))
        #expect(island.line == 7 && island.message.contains("cannot be reached"), "\(island)")
        let outside = try #require(try Self.problem(connected.replacingOccurrences(of: "to: 3, gbytes_per_s: 5}", with: "to: 9, gbytes_per_s: 5}")))
        #expect(outside.line == 7 && outside.message.contains("'to' must be a whole number in 0…3"), "\(outside)")
    }

    @Test func aQuotedSourceReadsBackAsItsText() throws {
        for text in ["plain", "a \"quoted\" host: #1 {x} [y] & *z !w %v @u `t` |s >r", "back\\slash\\", "new\nline\tand\u{7F}del", "ünïcødé ≥ 2"] {
            let yaml = "name: n\nsource: \(TopologyFile.quoted(text))\nkind: ring\nranks: 2\nlink: {gbytes_per_s: 1}\n"
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("loom-quoted-\(UUID().uuidString).yaml")
            try yaml.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let expected = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : $0 }))
            #expect(try TopologyFile.load(path: file.path).source == expected, "\(text)")
        }
    }
}
