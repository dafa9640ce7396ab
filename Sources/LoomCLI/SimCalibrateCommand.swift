import Attention
import Foundation
import SequenceParallel
import Simulator
import TensorCore
import Wire

/// `loom sim calibrate`: this machine as a topology profile for the simulator: the local transport's
/// α and β, and one rank's attention rate forward and backward, measured now.
enum SimCalibrateCommand: Command {
    static let words = ["sim", "calibrate"]
    static let summary = "measure this machine's transport (α, β) and attention rates and write them as a topology profile for loom sim"
    static let usage = "loom sim calibrate --out FILE.yaml [--workers P] [--chunk C] [--heads H] [--head-dim D] [--quick]"
    static let options: [Option] = [
        .value("out", "FILE", "where to write the profile (required)"),
        .value("workers", "P", "ranks the profile describes (default 4; --workers of loom sim resizes it)"),
        .value("chunk", "C", "tokens of the attention block timed, as a rank's chunk (default 2048)"),
        .value("heads", "H", "heads of the timed block (default 8)"),
        .value("head-dim", "D", "head dimension of the timed block (default 64)"),
        .flag("quick", "fewer samples (a few seconds)"),
        .value("block", "T,H,HKV,D,R", "internal: run as one process of the sharing benchmark"),
    ]
    static let discussion = """
        Compute: one C × C attention block with H heads of D on one thread (the executor's ranks run \
        one thread each), forward and backward, median of samples: useful GFLOP/s (4·C²·H·D FLOPs \
        forward, 2.5× that backward). Transport: 'loom bench wire' between this process and a second \
        one: α is half the round trip of a 4-byte message over ipc, β the rate of a 16 MiB tensor \
        through shared memory copied out by the peer (what a gang's receive does). The profile is \
        a full mesh of the workers with those links, the measured rates as the compute (the faster \
        family as the peak), and the machine's cores, which the ranks share. Measured rates depend \
        on the chunk, the shape and what else runs: calibrate at the shape you will predict.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        if let block = arguments.string("block") { return try serveBlock(block) }
        guard let out = arguments.string("out") else { throw .usage("give --out FILE.yaml: where to write the profile") }
        try TensorFile.checkWritable(out, option: "out")
        let ranks = try BenchOracleCommand.bounded(arguments, "workers", 4, 2...256)
        let chunk = try BenchOracleCommand.bounded(arguments, "chunk", 2048, 16...65_536)
        let heads = try BenchOracleCommand.bounded(arguments, "heads", 8, 1...256)
        let dimension = try BenchOracleCommand.bounded(arguments, "head-dim", 64, 1...1024)
        let quick = arguments.flag("quick")
        guard chunk * heads * dimension <= 1 << 28 else { throw .usage("--chunk × --heads × --head-dim is more than 2^28 floats per tensor") }

        Console.progress("sim calibrate: attention, \(chunk) × \(chunk), H = \(heads), d = \(dimension), one thread …")
        let (forward, backward) = try attentionRates(chunk: chunk, heads: heads, dimension: dimension, samples: quick ? 3 : 7)
        Console.progress("sim calibrate: transport (loom bench wire) …")
        let (latency, bandwidth, roundTrip) = try transport(quick: quick) { Console.progress("sim calibrate: \($0)") }
        Console.progress("sim calibrate: copies of a transfer at each end …")
        let copy = try hostCopyRate(bytes: 2 * chunk * heads * dimension * 4)   // a K/V block of the chunk
        let peak = max(forward, backward), cores = Parallel.activeCores
        let date = ISO8601DateFormatter().string(from: Date())
        let source = "loom sim calibrate on \(Provenance.host) (\(Provenance.cpuModel), \(cores) cores), \(date), commit \(Provenance.commit): "
            + String(format: "attention %d × %d, H = %d, d = %d, one thread: forward %.1f, backward %.1f GFLOP/s; ", chunk, chunk, heads, dimension,
                     forward / 1e9, backward / 1e9)
            + String(format: "ipc round trip %.1f µs, 16 MiB through shared memory %.2f GB/s; copies at each end %.2f GB/s", roundTrip, bandwidth, copy / 1e9)
        let text = """
            # This machine, measured by 'loom sim calibrate' (see source). Local workers: a full mesh of
            # links at the measured transport, sharing the machine's cores, each transfer copied in and
            # out on the ranks' cores. Add 'pinned: true' to predict runs with pin_cores.
            name: this-machine
            source: \(TopologyFile.quoted(source))
            kind: mesh
            ranks: \(ranks)
            cores: \(cores)
            copy_gbytes_per_s: \(String(format: "%.4g", copy / 1e9))
            link: {gbytes_per_s: \(String(format: "%.4g", bandwidth)), latency_us: \(String(format: "%.4g", latency))}
            compute: {tflops: \(String(format: "%.6g", peak / 1e12)), forward: \(String(format: "%.4f", forward / peak)), backward: \(String(format: "%.4f", backward / peak))}

            """
        do { try text.write(toFile: out, atomically: true, encoding: .utf8) } catch {
            throw .failure("cannot write \(out): \(error.localizedDescription)")
        }
        Console.output(String(format: "forward %.1f GFLOP/s, backward %.1f GFLOP/s per rank; α %.1f µs, β %.2f GB/s; copies %.2f GB/s; %d cores",
                              forward / 1e9, backward / 1e9, latency, bandwidth, copy / 1e9, cores))
        Console.output("wrote \(out): use it as 'loom sim --topology \(out) …'")
    }

    /// The local transport through 'loom bench wire': α (µs, half an ipc round trip of 4 bytes),
    /// β (GB/s of 16 MiB through shared memory, copied out by the peer) and the round trip (µs).
    static func transport(quick: Bool, progress: (String) -> Void) throws(CommandError) -> (latency: Double, bandwidth: Double, roundTrip: Double) {
        let report = try WireBenchmark.run(WireBenchmark.Configuration(sizes: [16 << 20], repeatCount: quick ? 3 : 10,
                                                                       pingCount: quick ? 200 : 1000), progress: progress)
        guard let bandwidth = report.rows.first?.rates[.localCopy] ?? report.rows.first?.rates[.ipc], bandwidth > 0 else {
            throw .failure("the transport measurement gave no rate for 16 MiB")
        }
        return (report.pingMicrosecondsIPC / 2, bandwidth, report.pingMicrosecondsIPC)
    }

    /// Useful FLOP/s of one block forward and backward on one thread, medians of `samples`; a
    /// causal block counts its visible pairs, C(C + 1)/2.
    /// Without `backward`, the backward rate is not measured (0).
    /// With a `budget` (seconds), forward samples are taken until they fill it, at least
    /// `samples` and at most 15: a short block's median then rides out a moment's noise.
    static func attentionRates(chunk: Int, heads: Int, keyHeads: Int? = nil, dimension: Int, samples: Int,
                               causal: Bool = false, backward timesBackward: Bool = true, budget: Double? = nil) throws(CommandError) -> (Double, Double) {
        // With the workers' allocator settings: glibc's default maps and faults in each large
        // block anew, which made a 1,365-token block 8 % slower than the same block on a worker.
        LargeMessageMemory.configure()
        let inputs = ShardedInputs(seed: 1, heads: heads, keyHeads: keyHeads ?? heads, headDimension: dimension)
        let q = inputs.tensor(.query, tokens: 0..<chunk), k = inputs.tensor(.key, tokens: 0..<chunk), v = inputs.tensor(.value, tokens: 0..<chunk)
        let attention = BlockwiseAttention(mask: causal ? .causal() : .none, threads: 1)
        let flops = 4 * Double(causal ? chunk * (chunk + 1) / 2 : chunk * chunk) * Double(heads * dimension)
        return try BLAS.withThreadCount(1) { () throws(CommandError) -> (Double, Double) in
            do {
                // Each pass timed back to back after its own warm-up, as a rank runs its steps:
                // forward samples taken between backward ones ran 5–20 % slower (small blocks most).
                let warmStart = ContinuousClock.now
                let result = try attention.forward(query: q, key: k, value: v)   // warm-up
                let once = max(1e-6, (ContinuousClock.now - warmStart).inSeconds)
                let count = budget.map { min(15, max(samples, Int($0 / once))) } ?? samples
                var forward: [Double] = [], backward: [Double] = []
                for _ in 0..<count {
                    let start = ContinuousClock.now
                    _ = try attention.forward(query: q, key: k, value: v)
                    forward.append((ContinuousClock.now - start).inSeconds)
                }
                guard timesBackward else { return (flops / BenchOracleCommand.median(forward), 0) }
                let gradient = inputs.tensor(.query, tokens: chunk..<(2 * chunk))   // shaped as the output
                _ = try attention.backward(query: q, key: k, value: v, result: result, outputGradient: gradient)   // warm-up
                for _ in 0..<samples {
                    let start = ContinuousClock.now
                    _ = try attention.backward(query: q, key: k, value: v, result: result, outputGradient: gradient)
                    backward.append((ContinuousClock.now - start).inSeconds)
                }
                return (flops / BenchOracleCommand.median(forward), 2.5 * flops / BenchOracleCommand.median(backward))
            } catch { throw .failure("sim calibrate: \(error)") }
        }
    }
}
