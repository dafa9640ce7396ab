import Foundation
import Synchronization
import Models
import TensorCore
import Testing
@testable import DuoLLM

/// Evaluations on several threads cut the routes into parts run at once on single-threaded
/// replicas: the same bits as one thread, in both readings, with and without sharing.
@Suite struct RouteParallelTests {
    @Test func partsAreContiguousBalancedAndNeverLonely() {
        #expect(RouteParallel.parts(threads: 2, count: 64) == 2)
        #expect(RouteParallel.parts(threads: 8, count: 5) == 2)     // no part under two routes
        #expect(RouteParallel.parts(threads: 2, count: 3) == 1)
        #expect(RouteParallel.parts(threads: 1, count: 729) == 1)
        for (parts, first, count) in [(2, 0, 64), (3, 7, 11), (4, 0, 9)] {
            let ranges = (0..<parts).map { RouteParallel.range(part: $0, of: parts, first: first, count: count) }
            #expect(ranges.first?.lowerBound == first && ranges.last?.upperBound == first + count)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1)
        }
    }

    @Test func severalThreadsGiveOneThreadsBits() throws {
        let (one, batch) = try PrefixSharingTests.model(layers: 4, context: 40, batch: 3, threads: 1)
        let (three, _) = try PrefixSharingTests.model(layers: 4, context: 40, batch: 3, threads: 3)
        let set = try RouteSet(layers: 4, skip: true)
        let reference = try RouteLosses.evaluate(one, batch: batch, routes: set, sharing: false)
        #expect(try RouteLosses.evaluate(three, batch: batch, routes: set) == reference)
        #expect(try RouteLosses.evaluate(three, batch: batch, routes: set, sharing: false) == reference)
        let slice = try RouteLosses.evaluate(three, batch: batch, routes: set, first: 17, count: 29)
        #expect(slice.values == Array(reference.values[(17 * 120)..<(46 * 120)]))
        let route = try DuoRoute.parse("BSKB")
        let fixed = try FixedContextLosses.evaluate(one, batch: batch, routes: set, defaultRoute: route)
        #expect(try FixedContextLosses.evaluate(three, batch: batch, routes: set, defaultRoute: route) == fixed)
        #expect(try FixedContextLosses.evaluate(three, batch: batch, routes: set, defaultRoute: route, sharing: false) == fixed)
        #expect(three.routes == nil)
    }

    @Test func replicasFollowTheModelBetweenCalls() throws {
        let (model, batch) = try PrefixSharingTests.model(layers: 3, threads: 2)
        let set = try RouteSet(layers: 3, skip: false)
        let before = try RouteLosses.evaluate(model, batch: batch, routes: set)
        // Change a weight and an intervention: the next evaluation's replicas see both.
        model.parameters.value("layers.1.ffn.w1")[3] += 0.5
        model.interventions.zeroedHeads = [.init(layer: 2, head: 0)]
        let after = try RouteLosses.evaluate(model, batch: batch, routes: set)
        #expect(after != before)
        let (single, _) = try PrefixSharingTests.model(layers: 3, threads: 1)
        single.parameters.value("layers.1.ffn.w1")[3] += 0.5
        single.interventions.zeroedHeads = [.init(layer: 2, head: 0)]
        #expect(try RouteLosses.evaluate(single, batch: batch, routes: set, sharing: false) == after)
        #expect(try model.replicas(2).count == 2 && model.replicas(1).count == 1)
    }

    @Test func aStopReachesEveryPart() throws {
        // Part 0's `shouldStop` says stop at its third question; every other part must then see it.
        var asked = 0
        let seen = Mutex<[Int: Int]>([:])
        var values = [Float](repeating: 0, count: 12)
        let (model, _) = try PrefixSharingTests.model(layers: 3, threads: 3)
        #expect(throws: ModelError.self) {
            try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
                try RouteParallel.run(model, first: 0, count: 6, tokens: 2, parts: 3, values: buffer.baseAddress!,
                                      shouldStop: { asked += 1; return asked > 2 }) { _, part, _, stop throws(ModelError) in
                    // Ask until told to stop (or give up after ten seconds, which fails below).
                    let deadline = ContinuousClock.now + .seconds(10)
                    var questions = 0
                    while ContinuousClock.now < deadline {
                        questions += 1
                        if stop() {
                            seen.withLock { $0[part.lowerBound] = questions }
                            throw .input("stopped")
                        }
                        if part.lowerBound > 0 { Thread.sleep(forTimeInterval: 0.001) }
                    }
                }
            }
        }
        #expect(asked >= 3)
        #expect(seen.withLock { $0.keys.sorted() } == [0, 2, 4], "every part saw the stop")
        // The work on 2 threads: every route once, and the join's repeated steps.
        let set = try RouteSet(layers: 4, skip: true)
        let work = RouteLosses.work(routes: set, threads: 2)
        #expect(work.losses == 81 && work.attention > RouteLosses.work(routes: set).attention)
    }

    @Test func theFirstErrorWinsOverTheStopsItCauses() throws {
        var values = [Float](repeating: 0, count: 8)
        let (model, _) = try PrefixSharingTests.model(layers: 3, threads: 2)
        do {
            try values.withUnsafeMutableBufferPointer { (buffer) throws(ModelError) in
                try RouteParallel.run(model, first: 0, count: 4, tokens: 2, parts: 2, values: buffer.baseAddress!,
                                      shouldStop: { false }) { _, part, _, stop throws(ModelError) in
                    if part.lowerBound == 2 { throw .input("part 1 failed") }
                    let deadline = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < deadline { if stop() { throw .input("stopped") } }
                }
            }
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("part 1 failed"), "\(error)")
        }
    }
}
