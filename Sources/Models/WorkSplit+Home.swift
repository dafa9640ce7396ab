import Synchronization
import TensorCore

/// A balanced split that keeps each worker on the same rows from phase to phase: the rows are cut
/// into units, each worker first takes the units of its own stretch, front to back, then takes
/// what is left of the others' from their ends. Unless a core is slowed, a worker's rows are the
/// ones it wrote in the phase before, still in its own caches; a slowed core's last units go to
/// the other worker. Pieces shrinking as the work ran out, pulled from one counter, balanced as
/// well but handed each phase's rows to whichever worker came first, so a step's activations
/// crossed between the cores' caches from phase to phase (BENCHMARKS.md: d = 64 steps 0–9 %
/// faster this way, in one process).
extension WorkSplit {
    /// Units per worker at least: small enough that the last one taken costs the other worker
    /// little waiting (with 4, d = 256 steps were 1 % slower than with shrinking pieces).
    static let unitsPerWorker = 16

    /// Rows per unit and the units in `count` rows: about count / (16·threads), at least `grain`,
    /// rounded up to `aligned`.
    static func homeUnits(_ count: Int, threads: Int, aligned: Int, grain: Int) -> (unit: Int, units: Int) {
        let alignment = max(1, aligned), share = unitsPerWorker * max(1, threads)
        let target = max(1, grain, (count + share - 1) / share)
        let unit = (target + alignment - 1) / alignment * alignment
        return (unit, count > 0 ? (count + unit - 1) / unit : 0)
    }

    /// `rows(balanced: true)`: calls `body` for each unit of `homeUnits`, on the worker whose
    /// stretch holds it unless that worker fell behind.
    func homeUnitRows(_ count: Int, aligned: Int, grain: Int, _ body: @Sendable (Range<Int>, Int) -> Void) {
        let (unit, units) = Self.homeUnits(count, threads: threads, aligned: aligned, grain: grain)
        let workers = min(threads, units)
        guard workers > 1 else {
            if count > 0 { body(0..<count, 0) }
            return
        }
        let stretches = (0..<workers).map { UnitStretch(first: $0 * units / workers, end: ($0 + 1) * units / workers) }
        Parallel.forEach(workers, threads: workers, setup: { $0 }, body: { _, worker in
            func run(_ u: Int) { body(u * unit ..< min(count, (u + 1) * unit), worker) }
            while let u = stretches[worker].takeFirst() { run(u) }
            for offset in 1..<workers {
                while let u = stretches[(worker + offset) % workers].takeLast() { run(u) }
            }
        })
    }
}

/// Units `first..<end` not yet taken: their owner takes from the front, the others from the end,
/// both by one compare-and-exchange on the pair, so each unit goes to exactly one worker.
final class UnitStretch: Sendable {
    private let state: Atomic<UInt64>

    init(first: Int, end: Int) {
        state = Atomic(UInt64(first) << 32 | UInt64(end))
    }

    /// The first unit left, for the stretch's owner.
    func takeFirst() -> Int? { take(fromEnd: false) }

    /// The last unit left, for a worker done with its own.
    func takeLast() -> Int? { take(fromEnd: true) }

    private func take(fromEnd: Bool) -> Int? {
        var current = state.load(ordering: .relaxed)
        while true {
            let first = current >> 32, end = current & 0xFFFF_FFFF
            guard first < end else { return nil }
            let next = fromEnd ? first << 32 | (end - 1) : (first + 1) << 32 | end
            let (exchanged, original) = state.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return Int(fromEnd ? end - 1 : first) }
            current = original
        }
    }
}
