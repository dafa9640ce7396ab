import SequenceParallel

/// One of the model's parameters moved by ±20 %, to see which conclusions (which schedule wins)
/// depend on it: every link's latency α, every link's bandwidth β, or every rate of compute
/// (forward, backward, merges).
public enum Perturbation: String, Sendable, CaseIterable {
    case none
    case alphaDown = "alpha-20%", alphaUp = "alpha+20%"
    case betaDown = "beta-20%", betaUp = "beta+20%"
    case computeDown = "compute-20%", computeUp = "compute+20%"

    /// The factor on latencies, bandwidths and compute rates.
    public var factors: (latency: Double, bandwidth: Double, compute: Double) {
        switch self {
        case .none: (1, 1, 1)
        case .alphaDown: (0.8, 1, 1)
        case .alphaUp: (1.2, 1, 1)
        case .betaDown: (1, 0.8, 1)
        case .betaUp: (1, 1.2, 1)
        case .computeDown: (1, 1, 0.8)
        case .computeUp: (1, 1, 1.2)
        }
    }

    /// `network` with every link's latency and bandwidth scaled.
    public func apply(to network: Network) throws(Network.Problem) -> Network {
        let (latency, bandwidth, _) = factors
        guard latency != 1 || bandwidth != 1 else { return network }
        let links = network.links.map { link in
            Network.Link(from: link.from, to: link.to, bandwidth: link.bandwidth * bandwidth, latency: link.latency * latency,
                         fullDuplex: link.fullDuplex)
        }
        return try Network(nodes: network.nodes, links: links)
    }
}

extension ScheduleReplay {
    /// The time of the pass with no communication and no merges: every visible pair's work split
    /// evenly over the ranks at `rate` (what ring-flash-attention calls the theoretic flash_attn:
    /// one GPU's kernel on its share of the work).
    public static func idealSeconds(_ p: Problem, pass: Pass, rate: Double) -> Double {
        let n = Double(p.tokens), pairs = p.causal ? n * (n + 1) / 2 : n * n
        return pairs * (pass == .forward ? 4 : 10) * Double(p.heads * p.headDimension) / Double(p.ranks) / rate
    }
}
