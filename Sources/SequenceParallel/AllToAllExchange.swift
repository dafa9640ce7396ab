import Cluster
import Foundation
import TensorCore

/// One rank's side of an all-to-all among `members` (gang ranks, in the order whose index the
/// parts are returned by), timed on one clock from the start of the pass. Ulysses exchanges
/// among the whole gang, USP among the ranks of one group.
struct AllToAllExchange {
    let rank: Int
    let members: [Int]
    let gang: GangMembership?
    let forceFrames: Bool
    let clock = ContinuousClock()
    let begin: ContinuousClock.Instant

    /// - Precondition: `members` holds `rank`.
    init(rank: Int, members: [Int], gang: GangMembership?, forceFrames: Bool) {
        precondition(members.contains(rank), "rank \(rank) is not among the all-to-all's members \(members)")
        self.rank = rank
        self.members = members
        self.gang = gang
        self.forceFrames = forceFrames
        begin = clock.now
    }

    var elapsed: Double { (clock.now - begin).inSeconds }

    /// The other members in the order this rank sends to them: the next, the one after, …
    /// (wrapping), so that no two ranks wait on the same peer first.
    var peers: [Int] {
        let position = members.firstIndex(of: rank)!
        return (1..<members.count).map { members[(position + $0) % members.count] }
    }

    /// Sends each peer its tensors (one per tag), keeps this rank's own, and receives every
    /// peer's. - Returns: per tag, the parts by position in `members`.
    func allToAll(tags: [String], step: Int, timings: inout [StepTiming],
                  _ outgoing: (_ peer: Int) -> [Tensor]) throws -> [[Tensor]] {
        let start = clock.now, bytesBefore = gang?.byteTotals
        if let gang {
            for peer in peers {
                for (tensor, tag) in zip(outgoing(peer), tags) { try gang.send(tensor, to: peer, tag: tag, forceFrames: forceFrames) }
            }
        }
        let sent = clock.now
        var parts = Array(repeating: [Tensor](), count: tags.count)
        for owner in members {
            if owner == rank {
                for (index, tensor) in outgoing(owner).enumerated() { parts[index].append(tensor) }
            } else if let gang {
                for (index, tag) in tags.enumerated() { parts[index].append(try gang.receiveTensor(tag, from: owner)) }
            }
        }
        timings.append(StepTiming(step: step, start: (start - begin).inSeconds, sendSeconds: (sent - start).inSeconds,
                                  computeSeconds: 0, waitSeconds: (clock.now - sent).inSeconds, blocks: 0)
            .counting(since: bytesBefore, gang))
        return parts
    }

    /// Runs `work` as one compute step of the timeline.
    func compute<T>(step: Int, timings: inout [StepTiming], _ work: () throws -> T) throws -> T {
        let start = clock.now
        let result = try work()
        timings.append(StepTiming(step: step, start: (start - begin).inSeconds, sendSeconds: 0,
                                  computeSeconds: (clock.now - start).inSeconds, waitSeconds: 0, blocks: 1))
        return result
    }
}
