/// The flows in flight on a network while a simulation runs: transfers are added as the
/// simulated ranks post them, and the network says when the next one will have arrived.
///
/// Max-min fair rates decompose over groups of flows that share links (directly or through
/// others), so a start or an end recomputes only its own group; each flow's drain time sits in a
/// queue, re-entered when its rate changes (older entries are skipped). A ring of P independent
/// links then costs O(log) per change, not a pass over every flow.
final class LiveNetwork {
    let network: Network
    private var routes: [[Int]] = []
    /// Bytes left at `updated[flow]`, moving at `rate[flow]` since.
    private var left: [Double] = []
    private var rate: [Double] = []
    private var updated: [Double] = []
    private var version: [Int] = []
    private var isActive: [Bool] = []
    private var pending = EventQueue<Int>()                 // flows waiting out their path's latency
    private var drains = EventQueue<(flow: Int, version: Int)>()
    /// The active flows on each resource, in no order; `places[flow][i]` is the flow's index in
    /// the list of `routes[flow][i]` (arrays, not sets: hashing was a tenth of a replay).
    private var users: [[Int]]
    private var places: [[Int]] = []
    private(set) var now = 0.0
    private var routeCache: [Int: (resources: [Int], latency: Double)] = [:]
    /// The search tree of the last source routed from (`Network.routeTree`).
    private var tree: [Int?] = [], treeSource = -1, lastSource = -1
    /// −1 per resource: `Network.fairRates`'s numbering of a group's resources.
    private var scratch: [Int]
    /// `reshare`'s marks of the flows and resources its walk has seen: equal to `stamp` when seen.
    private var flowSeen: [Int] = [], resourceSeen: [Int]
    private var stamp = 0
    /// Ids of flows that have arrived, reused by `add` so memory follows the flows in flight, not
    /// every flow of the run (P² of them for a ring). A caller is done with an id once `advance`
    /// has returned it.
    private var free: [Int] = []

    init(network: Network) {
        self.network = network
        users = [[Int]](repeating: [], count: network.capacities.count)
        scratch = [Int](repeating: -1, count: network.capacities.count)
        resourceSeen = [Int](repeating: 0, count: network.capacities.count)
    }

    /// Adds a transfer posted at the current time; returns its id.
    func add(from: Int, to: Int, bytes: Double) throws(Network.Problem) -> Int {
        let key = from * network.nodes + to
        let route: (resources: [Int], latency: Double)
        if let cached = routeCache[key] { route = cached } else {
            // A source routed twice in a row (a rank posting an all-to-all) gets one whole search
            // tree for all its routes; otherwise a search stops at its destination.
            if treeSource != from && lastSource == from { tree = network.routeTree(from: from); treeSource = from }
            route = try treeSource == from ? network.route(from: from, to: to, tree: tree) : network.route(from: from, to: to)
            lastSource = from
            // Bounded, so memory stays ∝ the network: a mesh schedule meets all P² pairs in a run.
            if routeCache.count >= max(4096, 16 * network.nodes) { routeCache.removeAll(keepingCapacity: true) }
            routeCache[key] = route
        }
        let id: Int
        if let reused = free.popLast() {
            // The version goes on counting, so drain entries of its earlier life stay stale.
            id = reused
            routes[id] = route.resources
            places[id] = [Int](repeating: 0, count: route.resources.count)
            left[id] = max(0, bytes); rate[id] = 0; updated[id] = now; isActive[id] = false
        } else {
            id = routes.count
            routes.append(route.resources)
            places.append([Int](repeating: 0, count: route.resources.count))
            left.append(max(0, bytes)); rate.append(0); updated.append(now); version.append(0); isActive.append(false); flowSeen.append(0)
        }
        pending.schedule(id, at: now + route.latency)
        return id
    }

    /// When the next flow begins or ends, if any is pending or in flight.
    var nextChange: Double? {
        let earliest = min(pending.nextTime ?? .infinity, currentDrainTime() ?? .infinity)
        return earliest.isFinite ? earliest : nil
    }

    /// The earliest drain time still current; entries made stale by a rate change are dropped.
    private func currentDrainTime() -> Double? {
        while let top = drains.first {
            if isActive[top.payload.flow] && version[top.payload.flow] == top.payload.version { return top.time }
            _ = drains.next()
        }
        return nil
    }

    /// Moves time to `time` (not past `nextChange`) and returns the flows that arrived by then,
    /// in the order they did. Every start and end at one instant is applied before the rates are
    /// shared again, once: the rates depend only on which flows are active, and an all-to-all
    /// starts P(P − 1) flows at once (one resharing each made Ulysses at P = 128 take minutes).
    func advance(to time: Double) -> [Int] {
        var arrived: [Int] = []
        while true {
            let drainAt = currentDrainTime() ?? .infinity
            let beginAt = pending.nextTime ?? .infinity
            let until = min(drainAt, beginAt)
            guard until <= time else { break }
            now = until
            var changed: [Int] = []          // resources whose flows changed at this instant
            while currentDrainTime() == now, let entry = drains.next() {
                let flow = entry.payload.flow
                isActive[flow] = false
                left[flow] = 0
                leave(flow)
                arrived.append(flow)
                changed += routes[flow]
            }
            while pending.nextTime == now, let begin = pending.next() {
                let flow = begin.payload
                if left[flow] <= 0 { arrived.append(flow); continue }
                isActive[flow] = true
                updated[flow] = now
                for (index, resource) in routes[flow].enumerated() {
                    places[flow][index] = users[resource].count
                    users[resource].append(flow)
                }
                if routes[flow].isEmpty {
                    // Source and destination on one node: no link limits it.
                    rate[flow] = .infinity
                    version[flow] += 1
                    drains.schedule((flow, version[flow]), at: now)
                } else {
                    changed += routes[flow]
                }
            }
            if !changed.isEmpty { reshare(around: changed) }
        }
        now = max(now, time)
        free += arrived
        return arrived
    }

    /// Takes `flow` off each resource of its path (a shortest path: each resource once), moving
    /// each list's last flow into its place.
    private func leave(_ flow: Int) {
        for (index, resource) in routes[flow].enumerated() {
            let place = places[flow][index], moved = users[resource].removeLast()
            guard moved != flow else { continue }
            users[resource][place] = moved
            let at = routes[moved].firstIndex(of: resource)!
            places[moved][at] = place
        }
    }

    /// Recomputes the fair rates of the flows connected (through shared resources) to `resources`.
    private func reshare(around resources: [Int]) {
        stamp += 1
        var group: [Int] = [], frontier = resources
        while let resource = frontier.popLast() {
            guard resourceSeen[resource] != stamp else { continue }
            resourceSeen[resource] = stamp
            for flow in users[resource] where flowSeen[flow] != stamp {
                flowSeen[flow] = stamp
                group.append(flow)
                for next in routes[flow] where resourceSeen[next] != stamp { frontier.append(next) }
            }
        }
        guard !group.isEmpty else { return }
        group.sort()
        let rates = network.fairRates(group.map { routes[$0] }, scratch: &scratch)
        for (flow, newRate) in zip(group, rates) {
            // Bytes moved at the old rate up to now, then the new rate from now.
            if rate[flow].isFinite { left[flow] = max(0, left[flow] - rate[flow] * (now - updated[flow])) }
            updated[flow] = now
            guard newRate != rate[flow] || rate[flow] == 0 else { continue }
            rate[flow] = newRate
            version[flow] += 1
            drains.schedule((flow, version[flow]), at: newRate.isInfinite ? now : now + left[flow] / newRate)
        }
    }
}
