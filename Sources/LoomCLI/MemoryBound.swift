import TensorCore

/// A benchmark's check before allocating what its flags ask for (`MemoryBudget`), as a usage
/// error that names the flags to lower.
enum MemoryBound {
    /// Throws a usage error naming `what` and `fix` when `bytes` (nil: past Int) is over `budget`.
    static func check(_ bytes: Int?, _ what: String, fix: String, budget: Int = MemoryBudget.bytes) throws(CommandError) {
        if let excess = MemoryBudget.excess(bytes, what, taker: "a benchmark", budget: budget) {
            throw .usage("\(excess); \(fix)")
        }
    }
}
