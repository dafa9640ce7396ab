internal import CSystem
import TensorCore

/// Runs work with the calling thread pinned to one CPU, then gives the thread back its own set:
/// local runs whose ranks outnumber the cores get a placement a model can follow (rank r on the
/// (r mod C)-th CPU the thread may use) instead of the scheduler's, which varies from run to run.
public enum CorePinning {
    /// The CPUs the calling thread may run on, in order (empty when the kernel does not say).
    public static func allowedCPUs() -> [Int] {
        guard let mask = currentMask() else { return [] }
        return (0..<(mask.count * 8)).filter { mask[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }

    /// Runs `body` with the calling thread on the `slot mod C`-th of its C allowed CPUs, or as it
    /// is when `slot` is nil or the kernel refuses; the thread's own set is restored after.
    /// - Returns: `body`'s result, and the CPU the thread was pinned to (nil: not pinned).
    public static func run<R, E: Error>(slot: Int?, _ body: (_ cpu: Int?) throws(E) -> R) throws(E) -> R {
        guard let slot, slot >= 0, let saved = currentMask() else { return try body(nil) }
        // The process's core count is read once; read it now, before this thread's set shrinks.
        _ = Parallel.activeCores
        let cpus = (0..<(saved.count * 8)).filter { saved[$0 / 8] & (1 << ($0 % 8)) != 0 }
        guard !cpus.isEmpty else { return try body(nil) }
        let cpu = cpus[slot % cpus.count]
        var one = [UInt8](repeating: 0, count: saved.count)
        one[cpu / 8] = 1 << (cpu % 8)
        guard set(one) else { return try body(nil) }
        defer { _ = set(saved) }
        return try body(cpu)
    }

    /// The calling thread's affinity mask, as many bytes as the kernel wrote.
    private static func currentMask() -> [UInt8]? {
        var mask = [UInt8](repeating: 0, count: 128)   // room for 1,024 CPUs
        let written = mask.withUnsafeMutableBufferPointer { loom_thread_getaffinity($0.baseAddress, $0.count) }
        return written > 0 ? Array(mask.prefix(Int(written))) : nil
    }

    private static func set(_ mask: [UInt8]) -> Bool {
        mask.withUnsafeBufferPointer { loom_thread_setaffinity($0.baseAddress, $0.count) } == 0
    }
}
