import Attention
import Foundation
import SequenceParallel
import TensorCore
import Wire

extension SimCalibrateCommand {
    /// How much of the cores' fair share `ranks` single-thread attention blocks get when they run
    /// at once on `cores` cores: 1 when time-slicing costs nothing; less when the blocks evict
    /// each other's caches, or the scheduler packs two ranks on one core and leaves them there.
    ///
    /// Measured as the ranks run: one process per block (this executable with `--block`), each
    /// running the block `rounds` times from a common start, against one such process alone.
    /// Threads of one process were tried first and gave 0.89–0.97 where processes get 0.98–1.0
    /// (they contend for the process's allocator and page tables; workers do not).
    /// Pinned, process i runs on core i mod C, as rank i does with `pin_cores`.
    static func sharingEfficiency(ranks: Int, cores: Int, chunk: Int, heads: Int, keyHeads: Int, dimension: Int,
                                  rounds: Int = 2, pinned: Bool = false) throws(CommandError) -> Double {
        let block = BlockRun(tokens: chunk, heads: heads, keyHeads: keyHeads, dimension: dimension, rounds: rounds, pinned: pinned)
        let alone = try block.runTogether(1).first ?? 0
        let together = try block.runTogether(ranks).max() ?? 0
        guard alone > 0, together > 0 else { throw .failure("sim validate: the sharing benchmark timed nothing") }
        // Fair sharing: the blocks over min(ranks, cores) cores, or pinned, the busiest core's
        // ⌈ranks / cores⌉ blocks; each as long as alone.
        let fair = pinned ? alone * Double((ranks + cores - 1) / cores) : alone * Double(ranks) / Double(min(ranks, cores))
        return min(1, fair / together)
    }

    /// `--block T,H,HKV,D,R,S`, the child of `sharingEfficiency`: makes the block, warms up, says
    /// `ready`, waits for a line on its input, runs the block R times (pinned to core S mod C
    /// when S ≥ 0) and prints the seconds.
    static func serveBlock(_ text: String) throws(CommandError) {
        let fields = text.split(separator: ",").map { Int($0) }
        guard fields.count == 6, let tokens = fields[0], let heads = fields[1], let keyHeads = fields[2], let dimension = fields[3],
              let rounds = fields[4], let slot = fields[5], (16...65_536).contains(tokens), (1...256).contains(heads), (1...256).contains(keyHeads),
              heads % keyHeads == 0, (1...1024).contains(dimension), (1...100).contains(rounds), (-1...4095).contains(slot),
              tokens * heads * dimension <= 1 << 28 else {
            throw .usage("--block expects TOKENS,HEADS,KV_HEADS,HEAD_DIM,ROUNDS,SLOT (internal: the sharing benchmark's child); got '\(text)'")
        }
        LargeMessageMemory.configure()   // as a worker's allocator is
        let inputs = ShardedInputs(seed: 1, heads: heads, keyHeads: keyHeads, headDimension: dimension)
        let q = inputs.tensor(.query, tokens: 0..<tokens), k = inputs.tensor(.key, tokens: 0..<tokens), v = inputs.tensor(.value, tokens: 0..<tokens)
        try BLAS.withThreadCount(1) { () throws(CommandError) in
            let attention = BlockwiseAttention(mask: .none, threads: 1)
            do {
                _ = try attention.forward(query: q, key: k, value: v)   // warm-up
                Console.output("ready")
                Console.flush()
                _ = readLine()
                let seconds = try CorePinning.run(slot: slot >= 0 ? slot : nil) { (_: Int?) throws -> Double in
                    let start = ContinuousClock.now
                    for _ in 0..<rounds { _ = try attention.forward(query: q, key: k, value: v) }
                    return (ContinuousClock.now - start).inSeconds
                }
                Console.output(String(seconds))
            } catch { throw .failure("sim calibrate --block: \(error)") }
        }
    }
}

/// Copies of this executable running one attention block each, started together.
private struct BlockRun {
    var tokens: Int, heads: Int, keyHeads: Int, dimension: Int, rounds: Int, pinned: Bool

    /// Seconds each of `count` processes took for its rounds, all released at once.
    func runTogether(_ count: Int) throws(CommandError) -> [Double] {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var children: [(process: Process, input: Pipe, output: Pipe)] = []
        defer { for child in children where child.process.isRunning { child.process.terminate() } }
        for index in 0..<count {
            let process = Process(), input = Pipe(), output = Pipe()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["sim", "calibrate", "--block", "\(tokens),\(heads),\(keyHeads),\(dimension),\(rounds),\(pinned ? index : -1)"]
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { throw .failure("sim validate: cannot start \(executable) for the sharing benchmark: \(error)") }
            children.append((process, input, output))
        }
        // Every child warmed up before any starts, so none runs alone for a while.
        for child in children {
            guard Self.line(from: child.output.fileHandleForReading) == "ready" else {
                throw .failure("sim validate: a sharing benchmark process (\(executable) sim calibrate --block) did not start")
            }
        }
        for child in children { child.input.fileHandleForWriting.write(Data("go\n".utf8)) }
        var seconds: [Double] = []
        for child in children {
            guard let text = Self.line(from: child.output.fileHandleForReading), let value = Double(text), value > 0 else {
                throw .failure("sim validate: a sharing benchmark process gave no time")
            }
            seconds.append(value)
            child.process.waitUntilExit()
        }
        return seconds
    }

    /// One line from `handle`, read byte by byte (the child writes one short line at a time).
    private static func line(from handle: FileHandle) -> String? {
        var bytes: [UInt8] = []
        while bytes.count < 200 {
            guard let byte = try? handle.read(upToCount: 1), let first = byte.first else { return nil }
            if first == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(first)
        }
        return nil
    }
}
