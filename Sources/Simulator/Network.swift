/// Links as α–β resources shared by the flows that cross them at the same time, by max-min fair
/// sharing: each flow gets an equal share of its tightest link, and what a flow cannot use
/// (because another link limits it) goes to the others.
public struct Network: Sendable {
    /// One link between two nodes.
    public struct Link: Sendable, Equatable {
        public var from: Int
        public var to: Int
        /// Bytes per second, in each direction when full duplex.
        public var bandwidth: Double
        /// Seconds from the first byte sent to the first byte arriving.
        public var latency: Double
        /// Full duplex: each direction has the whole bandwidth. Half duplex: both share it.
        public var fullDuplex: Bool

        public init(from: Int, to: Int, bandwidth: Double, latency: Double, fullDuplex: Bool = true) {
            self.from = from; self.to = to; self.bandwidth = bandwidth; self.latency = latency; self.fullDuplex = fullDuplex
        }
    }

    /// A problem with the network's description.
    public struct Problem: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    public let nodes: Int
    public let links: [Link]
    /// Capacity of each resource: a full-duplex link has two (one per direction), a half-duplex one.
    let capacities: [Double]
    /// For each link, its resource for each direction (from→to, to→from).
    let resources: [(forward: Int, backward: Int)]
    /// For each node, its links in link order and the node at each one's other end.
    let adjacency: [[(link: Int, other: Int)]]

    /// - Throws: `Problem` for a link to a node that does not exist, a bandwidth that is not
    ///   positive and finite, or a negative latency.
    public init(nodes: Int, links: [Link]) throws(Problem) {
        guard nodes >= 1 else { throw Problem(description: "a network needs at least one node") }
        var capacities: [Double] = [], resources: [(Int, Int)] = []
        for (index, link) in links.enumerated() {
            guard (0..<nodes).contains(link.from), (0..<nodes).contains(link.to), link.from != link.to else {
                throw Problem(description: "link \(index + 1) joins \(link.from) and \(link.to); nodes are 0…\(nodes - 1) and a link joins two of them")
            }
            guard link.bandwidth > 0, link.bandwidth.isFinite else {
                throw Problem(description: "link \(index + 1) (\(link.from)–\(link.to)) has bandwidth \(link.bandwidth); give a positive number of bytes per second")
            }
            guard link.latency >= 0, link.latency.isFinite else {
                throw Problem(description: "link \(index + 1) (\(link.from)–\(link.to)) has latency \(link.latency); give zero or more seconds")
            }
            let forward = capacities.count
            capacities.append(link.bandwidth)
            if link.fullDuplex {
                capacities.append(link.bandwidth)
                resources.append((forward, forward + 1))
            } else {
                resources.append((forward, forward))
            }
        }
        var adjacency = [[(link: Int, other: Int)]](repeating: [], count: nodes)
        for (index, link) in links.enumerated() {
            adjacency[link.from].append((index, link.to))
            adjacency[link.to].append((index, link.from))
        }
        self.nodes = nodes; self.links = links; self.capacities = capacities; self.resources = resources; self.adjacency = adjacency
    }

    /// The resources a flow from `a` to `b` crosses, by a shortest path (fewest links; ties go to
    /// lower link numbers, so routes are deterministic), and the path's total latency.
    public func route(from a: Int, to b: Int) throws(Problem) -> (resources: [Int], latency: Double) {
        guard a != b else { return ([], 0) }
        return try route(from: a, to: b, tree: routeTree(from: a, until: b))
    }

    /// The link by which breadth-first search from `a` first reaches each node (nil: not
    /// reached), stopping once `b` is reached (nil: every node): one search serves all of a
    /// source's routes, as an all-to-all needs.
    func routeTree(from a: Int, until b: Int? = nil) -> [Int?] {
        var previous = [Int?](repeating: nil, count: nodes)   // the link index used to reach a node
        var visited = [Bool](repeating: false, count: nodes)
        visited[a] = true
        var frontier = [a]
        while !frontier.isEmpty && !(b.map { visited[$0] } ?? false) {
            var next: [Int] = []
            for node in frontier {
                // Each node's links in link order: the same routes as scanning every link, in O(links).
                for (index, other) in adjacency[node] where !visited[other] {
                    visited[other] = true
                    previous[other] = index
                    next.append(other)
                }
            }
            frontier = next
        }
        return previous
    }

    /// The route from `a` to `b` along `tree` (`routeTree(from: a)`).
    func route(from a: Int, to b: Int, tree previous: [Int?]) throws(Problem) -> (resources: [Int], latency: Double) {
        guard a != b else { return ([], 0) }
        guard previous[b] != nil else { throw Problem(description: "node \(b) cannot be reached from node \(a): the network is not connected") }
        var path: [Int] = [], latency = 0.0, node = b
        while node != a, let index = previous[node] {
            let link = links[index]
            let forward = link.to == node
            path.append(forward ? resources[index].forward : resources[index].backward)
            latency += link.latency
            node = forward ? link.from : link.to
        }
        return (path.reversed(), latency)
    }

    /// Max-min fair rates for flows crossing `paths` (resource lists), by progressive filling.
    /// `scratch` holds −1 for every resource and is left so: it numbers the resources these paths
    /// cross, so the work is proportional to the group, not to the network (a ring of 1,024 links
    /// once spent most of its time clearing tables of 2,048 resources per change).
    func fairRates(_ paths: [[Int]], scratch: inout [Int]) -> [Double] {
        var resources: [Int] = []
        let local = paths.map { path in
            path.map { resource -> Int in
                if scratch[resource] < 0 { scratch[resource] = resources.count; resources.append(resource) }
                return scratch[resource]
            }
        }
        defer { for resource in resources { scratch[resource] = -1 } }
        var rates = [Double](repeating: 0, count: paths.count)
        var frozen = [Bool](repeating: false, count: paths.count)
        var remaining = resources.map { capacities[$0] }
        // A flow that crosses no resource (source and destination on one node) is not limited.
        for (index, path) in local.enumerated() where path.isEmpty { rates[index] = .infinity; frozen[index] = true }
        var users = [Int](repeating: 0, count: resources.count), saturated = [Bool](repeating: false, count: resources.count)
        while frozen.contains(false) {
            for r in users.indices { users[r] = 0 }
            // A route is a shortest path: it crosses each resource once.
            for (index, path) in local.enumerated() where !frozen[index] { for resource in path { users[resource] += 1 } }
            // The bottleneck share: the smallest fair share of any resource in use (the same value
            // whatever the numbering, so the rates do not depend on it).
            var share = Double.infinity
            for resource in users.indices where users[resource] > 0 {
                share = min(share, remaining[resource] / Double(users[resource]))
            }
            guard share.isFinite else { break }
            // Every resource at the bottleneck's share saturates now: freeze all their flows in
            // one round (a ring of equal links takes one round, not one per link).
            for resource in users.indices {
                saturated[resource] = users[resource] > 0 && remaining[resource] / Double(users[resource]) <= share * (1 + 1e-12)
            }
            for (index, path) in local.enumerated() where !frozen[index] && path.contains(where: { saturated[$0] }) {
                rates[index] = share
                frozen[index] = true
                for resource in path { remaining[resource] -= share }
            }
        }
        return rates
    }
}

extension Network {
    /// P nodes in a ring: link r joins r and r + 1 (mod P), each `bandwidth` bytes/s per direction
    /// with latency `latency`.
    public static func ring(_ nodes: Int, bandwidth: Double, latency: Double) throws(Problem) -> Network {
        try Topology.network(.ring, ranks: max(1, nodes), link: .init(bandwidth: bandwidth, latency: latency))
    }
}
