/// A modelled cluster: P ranks (GPUs, or worker processes) joined by a network whose first P nodes
/// are the ranks and whose other nodes are switches, and each rank's attention rate.
public struct Topology: Sendable {
    /// The shapes Loom builds.
    public enum Kind: String, Sendable, CaseIterable {
        /// Rank r linked to r + 1 (mod P).
        case ring
        /// A link between every two ranks.
        case mesh
        /// Every rank on one port of a non-blocking switch (an NVSwitch node).
        case `switch`
        /// Ranks under PCIe switches, `perSwitch` each; the switches' uplinks to the root complex
        /// are shared by every flow that leaves a switch.
        case pcieTree = "pcie_tree"
        /// Nodes of `perNode` ranks on a switch each (NVLink/NVSwitch inside), every rank with its own
        /// NIC to its leaf switch; `nodesPerLeaf` nodes per leaf, the leaves joined by one spine
        /// with uplinks of the leaf's NIC bandwidth over `oversubscription`.
        case fatTree = "fat_tree"
        /// Links listed one by one (`Network`'s own description); switches are nodes ≥ P.
        case custom
    }

    /// One kind of link: bandwidth in bytes/s per direction, latency in seconds.
    public struct LinkSpec: Sendable, Equatable {
        public var bandwidth: Double, latency: Double, fullDuplex: Bool
        public init(bandwidth: Double, latency: Double, fullDuplex: Bool = true) {
            self.bandwidth = bandwidth; self.latency = latency; self.fullDuplex = fullDuplex
        }
    }

    /// A rank's attention rate: peak FLOP/s and the fraction each kernel family reaches; and,
    /// when given, its memory bandwidth and the fraction of it the merges reach (the elementwise
    /// passes that fold each block's partial result into the accumulators).
    public struct Compute: Sendable, Equatable {
        public var peak: Double
        public var forward: Double, backward: Double
        /// Bytes/s of the rank's memory, and the merge family's fraction of it; nil: merges are free.
        public var memoryBandwidth: Double?, merge: Double?
        /// Compute runs 1/(1 + s) as fast while its rank has a transfer in flight (0: unaffected).
        public var transferSlowdown: Double
        public init(peak: Double, forward: Double, backward: Double, memoryBandwidth: Double? = nil, merge: Double? = nil,
                    transferSlowdown: Double = 0) {
            self.peak = peak; self.forward = forward; self.backward = backward
            self.memoryBandwidth = memoryBandwidth; self.merge = merge; self.transferSlowdown = transferSlowdown
        }
        /// Bytes/s the merges move, or nil when the topology does not model them.
        public var mergeRate: Double? {
            guard let memoryBandwidth, let merge else { return nil }
            return memoryBandwidth * merge
        }
        /// Useful FLOP/s of forward blocks.
        public var forwardRate: Double { peak * forward }
        /// Useful FLOP/s of backward blocks.
        public var backwardRate: Double { peak * backward }
    }

    public var name: String
    /// Where the parameters come from (spec sheets, a calibration), as the file says.
    public var source: String
    public var kind: Kind
    public var ranks: Int
    public var network: Network
    public var compute: Compute?
    /// Cores the ranks share (a profile of one machine's local workers), or nil: one per rank.
    public var cores: Int?
    /// With `cores`: rank r pinned to core r mod `cores` (local workers run with `pin_cores`).
    public var pinned = false
    /// Bytes/s at which a rank copies each transfer in or out on its own core (local workers'
    /// shared-memory slots), or nil: DMA engines move transfers (GPUs).
    public var hostCopyRate: Double?
    /// The fraction of point-to-point bandwidth an all-to-all reaches (`ScheduleReplay`'s).
    public var allToAllEfficiency = 1.0

    /// Throws unless every rank can reach every other (a rank on no link, or an island).
    public static func checkConnected(_ network: Network, ranks: Int) throws(Network.Problem) {
        for rank in 1..<max(1, ranks) { _ = try network.route(from: 0, to: rank) }
    }

    /// Builds the network of `kind` for `ranks` ranks.
    /// - Parameters:
    ///   - link: ring and mesh links, the ranks' switch ports, PCIe links to their switch, NVLink ports.
    ///   - uplink: a PCIe switch's link to the root complex (pcie_tree).
    ///   - nic: each rank's NIC link to its leaf (fat_tree).
    ///   - group: ranks per PCIe switch (pcie_tree) or per node (fat_tree).
    ///   - nodesPerLeaf, oversubscription: the fat tree's leaves.
    /// - Throws: `Network.Problem` for a shape that does not divide or a link the network refuses.
    public static func network(_ kind: Kind, ranks: Int, link: LinkSpec, uplink: LinkSpec? = nil, nic: LinkSpec? = nil,
                               group: Int = 1, nodesPerLeaf: Int = 0, oversubscription: Double = 1) throws(Network.Problem) -> Network {
        guard ranks >= 1 else { throw Network.Problem(description: "a topology needs at least one rank") }
        func join(_ a: Int, _ b: Int, _ spec: LinkSpec) -> Network.Link {
            Network.Link(from: a, to: b, bandwidth: spec.bandwidth, latency: spec.latency, fullDuplex: spec.fullDuplex)
        }
        switch kind {
        case .custom:
            throw Network.Problem(description: "a custom topology lists its links; build its Network directly")
        case .ring:
            guard ranks >= 2 else { return try Network(nodes: 1, links: []) }
            return try Network(nodes: ranks, links: (0..<(ranks == 2 ? 1 : ranks)).map { join($0, ($0 + 1) % ranks, link) })
        case .mesh:
            guard ranks <= 256 else { throw Network.Problem(description: "a full mesh of \(ranks) ranks has \(ranks * (ranks - 1) / 2) links; use kind switch (a non-blocking switch) beyond 256 ranks") }
            var links: [Network.Link] = []
            for a in 0..<ranks { for b in (a + 1)..<ranks { links.append(join(a, b, link)) } }
            return try Network(nodes: ranks, links: links)
        case .switch:
            return try Network(nodes: ranks + 1, links: (0..<ranks).map { join($0, ranks, link) })
        case .pcieTree:
            guard let uplink else { throw Network.Problem(description: "a pcie_tree needs an uplink (each PCIe switch's link to the root complex)") }
            guard group >= 1, ranks % group == 0 else {
                throw Network.Problem(description: "a pcie_tree of \(ranks) ranks cannot have \(group) per switch; give per_switch dividing ranks")
            }
            let switches = ranks / group, root = ranks + switches
            // Rank links first, so a flow inside one switch never leaves it.
            let links = (0..<ranks).map { join($0, ranks + $0 / group, link) } + (0..<switches).map { join(ranks + $0, root, uplink) }
            return try Network(nodes: root + 1, links: links)
        case .fatTree:
            guard let nic else { throw Network.Problem(description: "a fat_tree needs a nic (each rank's link to its leaf switch)") }
            guard group >= 1, ranks % group == 0 else {
                throw Network.Problem(description: "a fat_tree of \(ranks) ranks cannot have \(group) per node; give per_node dividing ranks")
            }
            // A fat tree resized below one leaf (`--workers`) is that one leaf.
            let nodes = ranks / group, perLeaf = nodesPerLeaf > 0 ? min(nodesPerLeaf, nodes) : nodes
            guard nodes % perLeaf == 0 else {
                throw Network.Problem(description: "a fat_tree of \(nodes) nodes cannot have \(perLeaf) per leaf; give nodes_per_leaf dividing the nodes")
            }
            guard oversubscription >= 1, oversubscription.isFinite else {
                throw Network.Problem(description: "a fat_tree's oversubscription is \(oversubscription); give 1 (non-blocking) or more")
            }
            let leaves = nodes / perLeaf
            // Node switches ranks ..< ranks + nodes, leaves after them, then the spine. NVLink links
            // come first, so two ranks of one node talk through their node's switch.
            let nodeSwitch = ranks, leaf = ranks + nodes, spine = leaf + leaves
            var links = (0..<ranks).map { join($0, nodeSwitch + $0 / group, link) }
            links += (0..<ranks).map { join($0, leaf + $0 / group / perLeaf, nic) }
            if leaves > 1 {
                let up = LinkSpec(bandwidth: nic.bandwidth * Double(perLeaf * group) / oversubscription, latency: nic.latency, fullDuplex: nic.fullDuplex)
                links += (0..<leaves).map { join(leaf + $0, spine, up) }
            }
            return try Network(nodes: spine + (leaves > 1 ? 1 : 0), links: links)
        }
    }
}
