import Simulator
import Testing

/// Each perturbation moves its own parameter by 20 % and nothing else.
@Suite struct PerturbationTests {
    @Test func eachPerturbationScalesItsParameter() throws {
        let network = try Network.ring(4, bandwidth: 1e9, latency: 1e-5)
        for perturbation in Perturbation.allCases {
            let moved = try perturbation.apply(to: network), (latency, bandwidth, _) = perturbation.factors
            for (a, b) in zip(moved.links, network.links) {
                #expect(a.bandwidth == b.bandwidth * bandwidth && a.latency == b.latency * latency && a.from == b.from && a.to == b.to,
                        "\(perturbation.rawValue)")
            }
        }
        #expect(Perturbation.betaDown.factors == (1, 0.8, 1) && Perturbation.computeUp.factors == (1, 1, 1.2))
        // A comm-bound ring at 0.8 of the bandwidth takes 1.25× as long.
        let problem = ScheduleReplay.Problem(tokens: 4 * 512, ranks: 4, causal: false, heads: 8, keyHeads: 8, headDimension: 64)
        let plain = try ScheduleReplay(algorithm: .ring, problem: problem, computeRate: 1e18, network: try Network.ring(4, bandwidth: 1e8, latency: 0)).run()
        let slower = try ScheduleReplay(algorithm: .ring, problem: problem, computeRate: 1e18,
                                        network: try Perturbation.betaDown.apply(to: try Network.ring(4, bandwidth: 1e8, latency: 0))).run()
        #expect(abs(slower.total - 1.25 * plain.total) <= 1e-6 * plain.total)
    }
}
