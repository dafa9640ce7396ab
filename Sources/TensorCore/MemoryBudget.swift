import Foundation

/// The check made before allocating what input asks for (a benchmark's flags, a task's
/// parameters): the bytes, counted without overflow, against most of the machine's memory, so
/// that a size too large is an error naming the input instead of an allocation that aborts.
public enum MemoryBudget {
    /// The share of physical memory one case may ask for (the rest for the process, scratch
    /// that is not counted, and the system).
    public static let share = 0.8

    /// The bytes one case may allocate on this machine.
    public static var bytes: Int { Int(Double(ProcessInfo.processInfo.physicalMemory) * share) }

    /// `factors` multiplied, or nil when the product overflows an Int.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The sum of `terms`, each a product of factors, in bytes of 4-byte floats; nil on overflow.
    public static func floatBytes(_ terms: [[Int]]) -> Int? {
        var total = 0
        for term in terms {
            guard let floats = product(term), case let (sum, false) = total.addingReportingOverflow(floats) else { return nil }
            total = sum
        }
        let (bytes, overflow) = total.multipliedReportingOverflow(by: MemoryLayout<Float>.size)
        return overflow ? nil : bytes
    }

    /// nil when `asked` (nil: past Int) fits in `budget`; otherwise the sentence
    /// "`what` needs N GiB, past the B GiB `taker` may take on this machine (80 % of its memory)".
    public static func excess(_ asked: Int?, _ what: String, taker: String, budget: Int = MemoryBudget.bytes) -> String? {
        if let asked, asked <= budget { return nil }
        let needed = asked.map { String(format: "%.1f GiB", Double($0) / Double(1 << 30)) } ?? "more than 2^63 bytes"
        return "\(what) needs \(needed), past the \(String(format: "%.1f GiB", Double(budget) / Double(1 << 30))) "
            + "\(taker) may take on this machine (\(Int(share * 100)) % of its memory)"
    }
}
