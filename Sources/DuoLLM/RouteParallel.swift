import Dispatch
import Foundation
import Models
import Synchronization

/// Splits a slice of routes into contiguous parts evaluated at once, one per thread, each on a
/// single-threaded replica of the model (`Transformer.replicas`). At the oracle's sizes a layer
/// step's products last tens of microseconds, so cutting each product between two threads spent
/// much of the step waking and waiting (1.2× on 2 cores, measured); whole parts of the route tree
/// on separate cores need no synchronisation until the end. Each part shares its own prefixes;
/// the parts repeat only the few steps at their joins (layer 0's attention, for one). Every row
/// depends only on the model, the batch and its route, so the values are the same bits however
/// the slice is cut.
enum RouteParallel {
    /// How many parts a slice of `count` routes is cut into on `threads` threads: one per thread,
    /// and no part under two routes (a lone route shares nothing and a part costs a replica).
    static func parts(threads: Int, count: Int) -> Int { max(1, min(threads, count / 2)) }

    /// The routes of part `p` of `parts`: contiguous, in order, sizes differing by at most one.
    static func range(part p: Int, of parts: Int, first: Int, count: Int) -> Range<Int> {
        (first + p * count / parts)..<(first + (p + 1) * count / parts)
    }

    /// Runs `body(replica, part routes, values of the part)` for each part, part 0 on the calling
    /// thread (which alone calls `shouldStop`, passing a stop to the others through a flag) and
    /// the rest on threads of their own; returns when all have. `values` holds `count × tokens` floats.
    /// - Throws: the first part's error, or the stop.
    static func run(_ model: Transformer, first: Int, count: Int, tokens: Int, parts: Int, values: UnsafeMutablePointer<Float>,
                    shouldStop: () -> Bool,
                    body: @escaping @Sendable (Transformer, Range<Int>, UnsafeMutablePointer<Float>, () -> Bool) throws(ModelError) -> Void)
        throws(ModelError) {
        let replicas = try model.replicas(parts)
        let shared = Shared()
        let group = DispatchGroup()
        nonisolated(unsafe) let values = values, replicasShared = replicas
        let stopped: @Sendable () -> Bool = { shared.stop.load(ordering: .relaxed) }
        for p in 1..<parts {
            let routes = range(part: p, of: parts, first: first, count: count)
            // A thread of its own, not Dispatch's pool: a pool busy elsewhere would queue the part.
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                do throws(ModelError) {
                    try body(replicasShared[p], routes, values + (routes.lowerBound - first) * tokens, stopped)
                } catch {
                    shared.fail(error)
                }
            }
            thread.stackSize = 1 << 22
            thread.start()
        }
        let routes = range(part: 0, of: parts, first: first, count: count)
        do throws(ModelError) {
            try body(replicas[0], routes, values, {
                if shouldStop() { shared.stop.store(true, ordering: .relaxed) }
                return stopped()
            })
        } catch {
            shared.fail(error)
        }
        // Part 0 done: keep asking `shouldStop` while the others finish.
        while group.wait(timeout: .now() + .milliseconds(5)) == .timedOut {
            if !stopped() && shouldStop() { shared.stop.store(true, ordering: .relaxed) }
        }
        if let error = shared.error.withLock({ $0 }) { throw error }
    }

    private final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        let error = Mutex<ModelError?>(nil)
        func fail(_ error: ModelError) {
            // The error first: a part that sees the stop throws a stop of its own, which must not win.
            self.error.withLock { if $0 == nil { $0 = error } }
            stop.store(true, ordering: .relaxed)
        }
    }
}
