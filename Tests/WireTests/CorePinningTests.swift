import Foundation
import Testing
import Wire

/// `CorePinning` moves the calling thread to one CPU for a body and gives it back its own set.
@Suite struct CorePinningTests {
    @Test func pinsTheThreadToItsSlotAndRestoresIt() throws {
        let allowed = CorePinning.allowedCPUs()
        try #require(!allowed.isEmpty, "the kernel reports this thread's CPUs")
        for slot in 0..<(allowed.count + 1) {
            let inside = CorePinning.run(slot: slot) { cpu in (cpu, CorePinning.allowedCPUs()) }
            let expected = allowed[slot % allowed.count]
            #expect(inside.0 == expected && inside.1 == [expected], "slot \(slot): pinned to \(String(describing: inside.0)), may run on \(inside.1)")
            #expect(CorePinning.allowedCPUs() == allowed, "the thread's own CPUs are back after the body")
        }
    }

    @Test func noSlotLeavesTheThreadAsItIs() throws {
        let allowed = CorePinning.allowedCPUs()
        let inside = CorePinning.run(slot: nil) { cpu in (cpu, CorePinning.allowedCPUs()) }
        #expect(inside.0 == nil && inside.1 == allowed)
    }

    @Test func aThrowingBodyStillRestoresTheCPUs() {
        struct Failure: Error {}
        let allowed = CorePinning.allowedCPUs()
        #expect(throws: Failure.self) { try CorePinning.run(slot: 1) { (_: Int?) throws(Failure) in throw Failure() } }
        #expect(CorePinning.allowedCPUs() == allowed)
    }
}
