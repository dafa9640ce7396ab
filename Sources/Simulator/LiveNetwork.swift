/// The flows in flight on a network while a simulation runs: transfers are added as the
/// simulated ranks post them, and the network says when the next one will have arrived.
final class LiveNetwork {
    let network: Network
    private var routes: [[Int]] = []
    private var left: [Double] = []
    private var pending = EventQueue<Int>()     // flows waiting out their path's latency
    private var active: [Int] = []
    private var rates: [Double] = []
    private(set) var now = 0.0
    private var routeCache: [Int: (resources: [Int], latency: Double)] = [:]

    init(network: Network) { self.network = network }

    /// Adds a transfer posted at the current time; returns its id.
    func add(from: Int, to: Int, bytes: Double) throws(Network.Problem) -> Int {
        let key = from * network.nodes + to
        let route: (resources: [Int], latency: Double)
        if let cached = routeCache[key] { route = cached } else {
            route = try network.route(from: from, to: to)
            routeCache[key] = route
        }
        let id = routes.count
        routes.append(route.resources)
        left.append(max(0, bytes))
        pending.schedule(id, at: now + route.latency)
        return id
    }

    /// When the next flow begins or ends, if any is pending or in flight.
    var nextChange: Double? {
        var earliest = pending.nextTime ?? .infinity
        for (slot, flow) in active.enumerated() {
            earliest = min(earliest, rates[slot].isInfinite ? now : now + left[flow] / rates[slot])
        }
        return earliest.isFinite ? earliest : nil
    }

    /// Moves time to `time` (not past `nextChange`) and returns the flows that arrived by then,
    /// in the order they did.
    func advance(to time: Double) -> [Int] {
        var arrived: [Int] = []
        while true {
            var drainAt = Double.infinity, draining = -1
            for (slot, flow) in active.enumerated() {
                let at = rates[slot].isInfinite ? now : now + left[flow] / rates[slot]
                if at < drainAt || (at == drainAt && flow < draining) { drainAt = at; draining = flow }
            }
            let beginAt = pending.nextTime ?? .infinity
            let until = min(drainAt, beginAt)
            guard until <= time else { break }
            for (slot, flow) in active.enumerated() where !rates[slot].isInfinite { left[flow] -= rates[slot] * (until - now) }
            now = until
            if drainAt <= beginAt {
                arrived.append(draining)
                active.removeAll { $0 == draining }
            } else if let begin = pending.next() {
                if left[begin.payload] <= 0 { arrived.append(begin.payload) } else { active.append(begin.payload) }
            }
            rates = network.fairRates(active.map { routes[$0] })
        }
        for (slot, flow) in active.enumerated() where !rates[slot].isInfinite { left[flow] -= rates[slot] * (time - now) }
        now = max(now, time)
        return arrived
    }
}
