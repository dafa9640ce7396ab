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

    /// The time each transfer's last byte arrives, in the order given.
    /// - Throws: `Network.Problem` when a transfer's ends are not connected.
    public func finishTimes(_ transfers: [Transfer]) throws(Network.Problem) -> [Double] {
        let live = LiveNetwork(network: network)
        var posts = EventQueue<Int>()
        for (index, transfer) in transfers.enumerated() { posts.schedule(index, at: transfer.start) }
        var ids: [Int: Int] = [:]                       // the live network's id → the transfer
        var finish = [Double](repeating: .nan, count: transfers.count)
        while true {
            let postAt = posts.nextTime ?? .infinity, changeAt = live.nextChange ?? .infinity
            guard postAt.isFinite || changeAt.isFinite else { break }
            for flow in live.advance(to: min(postAt, changeAt)) { finish[ids[flow]!] = live.now }
            if postAt <= changeAt, let post = posts.next() {
                let transfer = transfers[post.payload]
                ids[try live.add(from: transfer.from, to: transfer.to, bytes: transfer.bytes)] = post.payload
            }
        }
        return finish
    }
}
