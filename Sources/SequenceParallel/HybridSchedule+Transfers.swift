extension HybridSchedule {
    /// This rank's transfers in the forward pass, as `HybridExecutor.run` makes them: step 0 the
    /// group all-to-all ("q/k/v"), steps 1 … r the ring's K/V to the same member of the next
    /// group, step r + 1 the all-to-all back ("out/lse").
    public func forwardTransfers(headDimension d: Int) -> [ScheduledTransfer] {
        let u = ulyssesDegree, mine = tokenCount(ofRank: rank)
        var transfers: [ScheduledTransfer] = []
        for peer in groupRanks where peer != rank {
            transfers.append(ScheduledTransfer(what: "q/k/v", from: rank, to: peer, step: 0, receiveStep: 0,
                                               bytes: mine * (heads / u + 2 * keyHeads / u) * d * 4, sentAfterCompute: false))
        }
        for step in ring.steps {
            guard let next = step.sendTo else { continue }
            transfers.append(ScheduledTransfer(what: "k/v", from: rank, to: ringRanks[next], step: step.step + 1, receiveStep: step.step + 1,
                                               bytes: 2 * ringLayout.tokenCount(ofRank: step.keyOwner) * (keyHeads / u) * d * 4,
                                               sentAfterCompute: false))
        }
        for peer in groupRanks where peer != rank {
            transfers.append(ScheduledTransfer(what: "out/lse", from: rank, to: peer, step: groups + 1, receiveStep: groups + 1,
                                               bytes: tokenCount(ofRank: peer) * (heads / u) * (d + 1) * 4, sentAfterCompute: false))
        }
        return transfers
    }

    /// This rank's transfers in the backward pass, as `HybridExecutor.backward` makes them: step 0
    /// ∂L/∂out through the group all-to-all ("dout"); steps 1 … r the ring's K/V at each step's
    /// start and, after its compute, the dK/dV accumulators to the next group's member (from the
    /// last step, home; none when r = 1); step r + 1 dq | dk | dv back ("dq/dk/dv").
    public func backwardTransfers(headDimension d: Int) -> [ScheduledTransfer] {
        let u = ulyssesDegree, mine = tokenCount(ofRank: rank)
        var transfers: [ScheduledTransfer] = []
        for peer in groupRanks where peer != rank {
            transfers.append(ScheduledTransfer(what: "dout", from: rank, to: peer, step: 0, receiveStep: 0,
                                               bytes: mine * (heads / u) * d * 4, sentAfterCompute: false))
        }
        if groups > 1 {
            let next = ringRanks[(group + 1) % groups]
            for step in ring.steps {
                let block = 2 * ringLayout.tokenCount(ofRank: step.keyOwner) * (keyHeads / u) * d * 4
                if step.sendTo != nil {
                    transfers.append(ScheduledTransfer(what: "k/v", from: rank, to: next, step: step.step + 1, receiveStep: step.step + 1,
                                                       bytes: block, sentAfterCompute: false))
                }
                transfers.append(ScheduledTransfer(what: "dk/dv", from: rank, to: next, step: step.step + 1, receiveStep: step.step + 1,
                                                   bytes: block, sentAfterCompute: true))
            }
        }
        for peer in groupRanks where peer != rank {
            transfers.append(ScheduledTransfer(what: "dq/dk/dv", from: rank, to: peer, step: groups + 1, receiveStep: groups + 1,
                                               bytes: tokenCount(ofRank: peer) * (heads / u + 2 * keyHeads / u) * d * 4,
                                               sentAfterCompute: false))
        }
        return transfers
    }
}
