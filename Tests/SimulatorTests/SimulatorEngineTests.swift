import Foundation
import Simulator
import Testing

/// The event engine's order and determinism, and the α–β links with max-min fair sharing.
@Suite struct EventQueueTests {
    @Test func eventsComeOutByTimeAndTiesInTheOrderScheduled() {
        var queue = EventQueue<Int>()
        var generator = SystemRandomNumberGenerator()
        var times: [(Double, Int)] = []
        for index in 0..<2000 {
            let time = Double(Int.random(in: 0..<50, using: &generator)) / 10   // many ties
            times.append((time, index))
            queue.schedule(index, at: time)
        }
        var popped: [(Double, Int)] = []
        while let event = queue.next() { popped.append((event.time, event.payload)) }
        let expected = times.sorted { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        #expect(popped.map(\.0) == expected.map(\.0) && popped.map(\.1) == expected.map(\.1))
        #expect(queue.isEmpty && queue.next() == nil)
    }
}

@Suite struct LinkTests {
    static let bandwidth = 1e9, latency = 5e-6, bytes = 8e6

    static func pair(fullDuplex: Bool = true) throws -> FlowSimulation {
        FlowSimulation(network: try Network(nodes: 2, links: [.init(from: 0, to: 1, bandwidth: bandwidth, latency: latency, fullDuplex: fullDuplex)]))
    }

    /// ‖a − b‖/‖b‖ for scalars, with the tolerance stated at each use.
    static func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-12) -> Bool { abs(a - b) / abs(b) <= tolerance }

    @Test func aSingleTransferTakesAlphaPlusBytesOverBeta() throws {
        let times = try Self.pair().finishTimes([.init(from: 0, to: 1, bytes: Self.bytes, start: 0.25)])
        #expect(Self.close(times[0], 0.25 + Self.latency + Self.bytes / Self.bandwidth))
    }

    @Test func twoFlowsOnOneLinkEachGetHalfThenTheRestGoesToTheOther() throws {
        let simulation = try Self.pair()
        let equal = try simulation.finishTimes([.init(from: 0, to: 1, bytes: Self.bytes), .init(from: 0, to: 1, bytes: Self.bytes)])
        for time in equal { #expect(Self.close(time, Self.latency + 2 * Self.bytes / Self.bandwidth)) }
        // Unequal: the small one ends at α + 2s/β; the large then has the link to itself.
        let small = 2e6, large = 6e6
        let unequal = try simulation.finishTimes([.init(from: 0, to: 1, bytes: large), .init(from: 0, to: 1, bytes: small)])
        #expect(Self.close(unequal[1], Self.latency + 2 * small / Self.bandwidth))
        #expect(Self.close(unequal[0], Self.latency + (small + large) / Self.bandwidth))
    }

    /// A flow that joins halfway takes half the link from then on, and the whole of it once the
    /// first has ended: A moves 4 MB alone, both move 4 MB each at half speed, B its last 4 MB alone.
    @Test func aFlowJoiningLaterSharesFromThenOn() throws {
        let network = try Network(nodes: 2, links: [.init(from: 0, to: 1, bandwidth: 1e9, latency: 0)])
        let times = try FlowSimulation(network: network).finishTimes([.init(from: 0, to: 1, bytes: 8e6, start: 0),
                                                                      .init(from: 0, to: 1, bytes: 8e6, start: 4e-3)])
        #expect(Self.close(times[0], 12e-3, 1e-9) && Self.close(times[1], 16e-3, 1e-9), "\(times)")
    }

    @Test func fullDuplexCarriesBothDirectionsAtOnceAndHalfDuplexShares() throws {
        let transfers: [FlowSimulation.Transfer] = [.init(from: 0, to: 1, bytes: Self.bytes), .init(from: 1, to: 0, bytes: Self.bytes)]
        for time in try Self.pair(fullDuplex: true).finishTimes(transfers) {
            #expect(Self.close(time, Self.latency + Self.bytes / Self.bandwidth))
        }
        for time in try Self.pair(fullDuplex: false).finishTimes(transfers) {
            #expect(Self.close(time, Self.latency + 2 * Self.bytes / Self.bandwidth))
        }
    }

    /// Max-min fairness across links: A crosses a slow link 0–1 and a fast link 1–2; B crosses
    /// only the fast one. A is held to the slow link's rate and B gets what A leaves of the fast.
    @Test func whatAFlowCannotUseGoesToTheOthers() throws {
        let network = try Network(nodes: 3, links: [.init(from: 0, to: 1, bandwidth: 1e9, latency: 0),
                                                     .init(from: 1, to: 2, bandwidth: 4e9, latency: 0)])
        let times = try FlowSimulation(network: network).finishTimes([.init(from: 0, to: 2, bytes: 1e9), .init(from: 1, to: 2, bytes: 3e9)])
        #expect(Self.close(times[0], 1.0) && Self.close(times[1], 1.0), "A at 1 GB/s, B at the other 3 GB/s: \(times)")
    }

    @Test func theSameInputGivesTheSameTimesAndARouteFollowsTheLinks() throws {
        var links: [Network.Link] = []
        for node in 0..<4 { links.append(Network.Link(from: node, to: (node + 1) % 4, bandwidth: 1e9 * Double(node + 1), latency: 1e-6)) }
        let network = try Network(nodes: 4, links: links)
        var transfers: [FlowSimulation.Transfer] = []
        for index in 0..<40 {
            let bytes = Double(index % 7 + 1) * 1e6, start = Double(index % 5) * 1e-4
            transfers.append(FlowSimulation.Transfer(from: index % 4, to: (index * 3 + 1) % 4, bytes: bytes, start: start))
        }
        let first = try FlowSimulation(network: network).finishTimes(transfers)
        let second = try FlowSimulation(network: network).finishTimes(transfers)
        #expect(first == second && first.allSatisfy { $0.isFinite })
        let route = try network.route(from: 0, to: 2)
        #expect(route.resources.count == 2 && Self.close(route.latency, 2e-6))
    }

    @Test func aBadNetworkIsNamed() {
        #expect(throws: Network.Problem.self) { try Network(nodes: 2, links: [.init(from: 0, to: 1, bandwidth: -1, latency: 0)]) }
        #expect(throws: Network.Problem.self) { try Network(nodes: 2, links: [.init(from: 0, to: 2, bandwidth: 1, latency: 0)]) }
        #expect(throws: Network.Problem.self) { try Network(nodes: 2, links: [.init(from: 0, to: 1, bandwidth: 1, latency: -1e-6)]) }
        let split = try? Network(nodes: 3, links: [.init(from: 0, to: 1, bandwidth: 1, latency: 0)])
        #expect(throws: Network.Problem.self) { try split?.route(from: 0, to: 2) }
        do { _ = try Network(nodes: 2, links: [.init(from: 0, to: 1, bandwidth: .infinity, latency: 0)]) } catch {
            #expect(error.description.contains("link 1 (0–1) has bandwidth inf"))
        }
    }
}
