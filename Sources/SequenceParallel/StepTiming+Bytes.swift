import Cluster

extension GangMembership {
    /// Tensor bytes sent and received so far, over all peers.
    var byteTotals: (sent: Int, received: Int) {
        (tensorBytesSent.values.reduce(0, +), tensorBytesReceived.values.reduce(0, +))
    }
}

extension StepTiming {
    /// The step with the bytes the gang counted since `before` (nothing without a gang).
    func counting(since before: (sent: Int, received: Int)?, _ gang: GangMembership?) -> StepTiming {
        guard let before, let gang else { return self }
        var timing = self
        let now = gang.byteTotals
        timing.bytesSent = now.sent - before.sent
        timing.bytesReceived = now.received - before.received
        return timing
    }
}
