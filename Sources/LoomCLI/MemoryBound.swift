import Foundation

/// The check a benchmark makes before allocating what its flags ask for: the bytes, counted
/// without overflow, against most of the machine's memory, so that `--sizes 100000000` is a
/// usage error naming the flag instead of an allocation that aborts the process.
enum MemoryBound {
    /// The share of physical memory one benchmark case may ask for (the rest for the process,
    /// the kernel's scratch that is not counted, and the system).
    static let share = 0.8

    /// The bytes a benchmark may allocate on this machine.
    static var budget: Int { Int(Double(ProcessInfo.processInfo.physicalMemory) * share) }

    /// `factors` multiplied, or nil when the product overflows an Int.
    static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The sum of `terms`, each a product of factors, in bytes of 4-byte floats; nil on overflow.
    static func floatBytes(_ terms: [[Int]]) -> Int? {
        var total = 0
        for term in terms {
            guard let floats = product(term), case let (sum, false) = total.addingReportingOverflow(floats) else { return nil }
            total = sum
        }
        let (bytes, overflow) = total.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        return overflow ? nil : bytes
    }

    /// Throws a usage error naming `what` and `fix` when `bytes` (nil: past Int) is over `budget`.
    static func check(_ bytes: Int?, _ what: String, fix: String, budget: Int = MemoryBound.budget) throws(CommandError) {
        if let bytes, bytes <= budget { return }
        let asked = bytes.map { String(format: "%.1f GiB", Double($0) / Double(1 << 30)) } ?? "more than 2^63 bytes"
        throw .usage("\(what) needs \(asked), past the \(String(format: "%.1f GiB", Double(budget) / Double(1 << 30))) "
                     + "a benchmark may take on this machine (\(Int(share * 100)) % of its memory); \(fix)")
    }
}
