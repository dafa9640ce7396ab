/// Transfers on a network, simulated event by event: each flow waits its path's latency, then
/// moves its bytes at its max-min fair rate, recomputed whenever a flow starts or ends.
public struct FlowSimulation {
    /// One transfer to simulate.
    public struct Transfer: Sendable, Equatable {
        public var from: Int
        public var to: Int
        public var bytes: Double
        /// When the sender starts it.
        public var start: Double

        public init(from: Int, to: Int, bytes: Double, start: Double = 0) {
            self.from = from; self.to = to; self.bytes = bytes; self.start = start
        }
    }

    public let network: Network

    public init(network: Network) { self.network = network }

    private enum Event { case begin(Int) }

    /// The time each transfer's last byte arrives, in the order given.
    /// - Throws: `Network.Problem` when a transfer's ends are not connected.
    public func finishTimes(_ transfers: [Transfer]) throws(Network.Problem) -> [Double] {
        var routes: [[Int]] = []
        var queue = EventQueue<Event>()
        for (index, transfer) in transfers.enumerated() {
            let route = try network.route(from: transfer.from, to: transfer.to)
            routes.append(route.resources)
            queue.schedule(.begin(index), at: transfer.start + route.latency)
        }
        var finish = [Double](repeating: .nan, count: transfers.count)
        var active: [Int] = [], left: [Double] = transfers.map(\.bytes)
        var rates: [Double] = []
        var now = 0.0
        while !queue.isEmpty || !active.isEmpty {
            // The next moment something changes: a flow begins, or an active flow drains.
            var drainAt = Double.infinity, draining = -1
            for (slot, flow) in active.enumerated() {
                let at = rates[slot].isInfinite ? now : now + left[flow] / rates[slot]
                if at < drainAt || (at == drainAt && flow < draining) { drainAt = at; draining = flow }
            }
            let beginAt = queue.nextTime ?? .infinity
            let until = min(drainAt, beginAt)
            for (slot, flow) in active.enumerated() where !rates[slot].isInfinite { left[flow] -= rates[slot] * (until - now) }
            now = until
            if drainAt <= beginAt {
                finish[draining] = now
                active.removeAll { $0 == draining }
            } else if case let .begin(flow)? = queue.next()?.payload {
                if transfers[flow].bytes <= 0 { finish[flow] = now } else { active.append(flow) }
            }
            rates = network.fairRates(active.map { routes[$0] })
        }
        return finish
    }
}
