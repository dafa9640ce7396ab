/// Events ordered by time, ties broken by the order they were scheduled: a run of the simulator
/// is a pure function of its inputs, whatever the heap does internally.
public struct EventQueue<Payload> {
    // Inlinable, so a queue of another module's payload is specialised there rather than run
    // through generic metadata (the simulator's own queues are specialised in this module).
    @usableFromInline struct Entry {
        @usableFromInline var time: Double
        @usableFromInline var sequence: UInt64
        @usableFromInline var payload: Payload
        @inlinable init(time: Double, sequence: UInt64, payload: Payload) { self.time = time; self.sequence = sequence; self.payload = payload }
        @inlinable func precedes(_ other: Entry) -> Bool { time < other.time || (time == other.time && sequence < other.sequence) }
    }

    @usableFromInline var heap: [Entry] = []
    @usableFromInline var nextSequence: UInt64 = 0

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { heap.isEmpty }
    @inlinable public var count: Int { heap.count }
    /// The time of the next event, if any.
    @inlinable public var nextTime: Double? { heap.first?.time }
    /// The next event, left in the queue.
    @inlinable public var first: (time: Double, payload: Payload)? { heap.first.map { ($0.time, $0.payload) } }

    /// Schedules `payload` at `time` (seconds).
    /// - Precondition: `time` is finite.
    @inlinable public mutating func schedule(_ payload: Payload, at time: Double) {
        precondition(time.isFinite, "an event needs a finite time, got \(time)")
        heap.append(Entry(time: time, sequence: nextSequence, payload: payload))
        nextSequence += 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest event.
    @inlinable public mutating func next() -> (time: Double, payload: Payload)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left].precedes(heap[smallest]) { smallest = left }
            if right < heap.count && heap[right].precedes(heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.time, first.payload)
    }
}
