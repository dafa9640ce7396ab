import Attention
import Foundation
import SequenceParallel
import Tasks
import TensorCore

/// `loom attention`: blockwise attention on `.npy` files, forward or (with `--backward`) backward.
enum AttentionCommand: Command {
    static let words = ["attention"]
    static let summary = "run attention on .npy files (forward; backward with --backward)"
    static let usage = "loom attention --q FILE --k FILE --v FILE --out FILE [--lse FILE] [options]\n" +
        "       loom attention --backward --q FILE --k FILE --v FILE --dout FILE --dq FILE --dk FILE --dv FILE [options]"
    static var options: [Option] { [
        .value("q", "FILE", "queries [n, H, d], float32 or float64 .npy"),
        .value("k", "FILE", "keys [m, Hkv, d]; H must be a multiple of Hkv"),
        .value("v", "FILE", "values [m, Hkv, d]"),
        .flag("causal", "causal mask aligned to the end: query i sees keys 0 … m − n + i"),
        .value("window", "W", "local window: keys at most W − 1 positions away (W ≥ 1; with --causal, only back)"),
        .value("score", "FUNCTION", "softmax (default), relu or softplus (see below)"),
        .value("scale", "S", "score scale (default 1/√d)"),
        .value("threads", "N", "worker threads (default: one per active core)"),
        .value("out", "FILE", "writes the output [n, H, d], float32"),
        .value("lse", "FILE", "writes the log-sum-exp [n, H], float32"),
        .flag("backward", "also compute gradients from --dout into --dq, --dk, --dv"),
        .value("dout", "FILE", "∂L/∂out [n, H, d] (with --backward)"),
        .value("dq", "FILE", "writes ∂L/∂q [n, H, d], float32 (with --backward)"),
        .value("dk", "FILE", "writes ∂L/∂k [m, Hkv, d], float32 (with --backward)"),
        .value("dv", "FILE", "writes ∂L/∂v [m, Hkv, d], float32 (with --backward)"),
        .value("algorithm", "A", "shard the sequence over local worker processes: "
               + (sharded("algorithm").choices ?? []).joined(separator: ", ")),
        .value("workers", "P", "with --algorithm: the number of worker processes (default 2)"),
        .value("ulysses-degree", "U", "with --algorithm usp (required): ranks per Ulysses group; U divides P, H and Hkv"),
        .flag("json", "with --algorithm: print the run's measurements as one JSON object"),
        .value("trace", "FILE", "with --algorithm: write the timeline as a Chrome trace (open it in Perfetto)"),
        .parameter(sharded("link_gbps"), help: "with --algorithm: " + sharded("link_gbps").help),
        .parameter(sharded("link_latency_us"), help: "with --link-gbps: latency per message in µs"),
    ] }

    /// A parameter of `attention.sharded`, which the sharded options run.
    private static func sharded(_ name: String) -> ParameterSpec {
        ShardedAttentionParameters.declaration.first { $0.name == name }!
    }
    static let discussion = """
        Shapes: n queries, m keys, H query heads, Hkv key/value heads (grouped-query: query head h \
        reads key/value head h / (H / Hkv)), head dimension d. Scores are s = scale · q·k.

        Causal convention: with --causal and n ≠ m the mask is aligned to the end, as \
        flash-attention does: query i sees keys 0 … m − n + i. With n = m that is the usual lower \
        triangle; with n < m (new queries against a longer cache) the last query sees every key; \
        with n > m the first n − m queries see no key, and get output 0 and lse −inf. --window W \
        uses the same alignment (query i at position m − n + i): it sees the keys j with \
        |m − n + i − j| < W, and with --causal only those at or before it.

        Score functions: softmax gives lse = log Σ exp(s) over the visible keys. relu and softplus \
        weight each visible key by ReLU(s) / N or log(1 + e^s) / N, N the number of visible keys, \
        and report lse = log N, so partial results merge with the same rule as softmax.

        Inputs are checked before any work: a missing, truncated or non-float .npy file, shapes \
        that do not fit, or a NaN or ±inf element (the error names the file and the first bad \
        index) stop with exit status 2. Outputs are written as little-endian float32 .npy.

        Sharded: --algorithm ring|zigzag_ring|ulysses|tokenring|usp --workers P computes the same \
        forward pass on P local worker processes that pass K/V blocks round a ring (zigzag_ring \
        balances causal work), exchange heads all-to-all (ulysses: P must divide H and Hkv), pass \
        queries round the ring with results sent straight home (tokenring), or exchange heads \
        all-to-all inside groups of --ulysses-degree U consecutive workers and run the ring across \
        the P/U groups (usp: U must divide P, H and Hkv; U = P is ulysses, U = 1 the ring, zigzag \
        when causal), and writes the same files; --threads is then per worker (default 1). It needs \
        n = m, softmax, and no --window or --scale. --backward works with every algorithm: the rings \
        send dK/dV round with their blocks, ulysses reverses its all-to-alls, tokenring sends dK/dV \
        partials straight to their owners, usp does both inside and across its groups.

        Example:
          loom attention --q q.npy --k k.npy --v v.npy --causal --out out.npy --lse lse.npy
          loom attention --q q.npy --k k.npy --v v.npy --causal --algorithm zigzag_ring --workers 2 --out out.npy
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let isBackward = arguments.flag("backward")
        let gradientOptions = ["dout", "dq", "dk", "dv"]
        if !isBackward, let stray = gradientOptions.first(where: { arguments.string($0) != nil }) {
            throw .usage("--\(stray) is used only with --backward; add --backward or drop --\(stray)")
        }
        let queryPath = try arguments.required("q", "the queries, an [n, H, d] .npy file")
        let keyPath = try arguments.required("k", "the keys, an [m, Hkv, d] .npy file")
        let valuePath = try arguments.required("v", "the values, an [m, Hkv, d] .npy file")
        let outPath = isBackward ? arguments.string("out")
            : try arguments.required("out", "where to write the output [n, H, d]")
        let lsePath = arguments.string("lse")
        var gradientPaths: (dout: String, dq: String, dk: String, dv: String)?
        if isBackward {
            gradientPaths = (try arguments.required("dout", "∂L/∂out, an [n, H, d] .npy file"),
                             try arguments.required("dq", "where to write ∂L/∂q"),
                             try arguments.required("dk", "where to write ∂L/∂k"),
                             try arguments.required("dv", "where to write ∂L/∂v"))
        }
        let window = try arguments.int("window", minimum: 1)
        let score = try arguments.choice("score", as: ScoreFunction.self) ?? .softmax
        let scale = try arguments.positiveFloat("scale")
        let threads = try arguments.int("threads", minimum: 1) ?? Parallel.activeCores

        // Fail on an unwritable destination before the work, not after it.
        let destinations = [("out", outPath), ("lse", lsePath), ("dq", gradientPaths?.dq),
                            ("dk", gradientPaths?.dk), ("dv", gradientPaths?.dv)]
        for case let (option, path?) in destinations {
            try TensorFile.checkWritable(path, option: option)
        }

        let algorithm = try arguments.choice("algorithm", as: SequenceParallelKinds.Algorithm.self)
        if algorithm == nil, let stray = ["workers", "ulysses-degree", "json", "trace", "link-gbps", "link-latency-us"]
            .first(where: { arguments.string($0) != nil || arguments.flag($0) }) {
            throw .usage("--\(stray) is used only with --algorithm; add --algorithm ring or drop --\(stray)")
        }
        if algorithm != nil {
            if let stray = ["window", "scale", "score"].first(where: { arguments.string($0) != nil }) {
                throw .usage("--algorithm runs softmax attention with the default scale and no window; drop --\(stray)")
            }
        }
        let query = try TensorFile.readFinite(queryPath, option: "q")
        let key = try TensorFile.readFinite(keyPath, option: "k")
        let value = try TensorFile.readFinite(valuePath, option: "v")
        if let algorithm {
            var backward: (dout: Tensor, dq: String, dk: String, dv: String)?
            if let gradientPaths {
                let outputGradient = try TensorFile.readFinite(gradientPaths.dout, option: "dout")
                guard outputGradient.shape == query.shape else {
                    throw .usage("--dout \(gradientPaths.dout) has shape \(Tensor.describe(outputGradient.shape)); it must match the output [n, H, d] = \(Tensor.describe(query.shape))")
                }
                backward = (outputGradient, gradientPaths.dq, gradientPaths.dk, gradientPaths.dv)
            }
            var link: (gbps: Double, latencyMicroseconds: Double)?
            if let gbps = try arguments.positiveFloat("link-gbps") {
                let latency = try arguments.positiveFloat("link-latency-us") ?? 0
                // The task's own bounds (link_gbps, link_latency_us), said here as options.
                guard gbps <= 1e6, latency <= 1e6 else {
                    throw .usage("--link-gbps and --link-latency-us take at most 1000000 (GB/s, µs); got \(gbps), \(latency)")
                }
                link = (Double(gbps), Double(latency))
            } else if arguments.string("link-latency-us") != nil {
                throw .usage("--link-latency-us needs --link-gbps")
            }
            let degree = try arguments.int("ulysses-degree", minimum: 1)
            if algorithm == .usp && degree == nil {
                throw .usage("--algorithm usp needs --ulysses-degree U: the workers per Ulysses group, dividing --workers, H and Hkv")
            }
            if algorithm != .usp && degree != nil {
                throw .usage("--ulysses-degree is used only with --algorithm usp; drop it or use --algorithm usp")
            }
            try ShardedAttentionRun.run(algorithm: algorithm, workers: try arguments.int("workers", minimum: 1) ?? 2, ulyssesDegree: degree ?? 1,
                                        query: query, key: key, value: value, isCausal: arguments.flag("causal"),
                                        threads: try arguments.int("threads", minimum: 1) ?? 1,
                                        link: link,
                                        outPath: outPath, lsePath: lsePath, backward: backward, tracePath: arguments.string("trace"),
                                        json: arguments.flag("json"))
            return
        }
        let shape: AttentionShape
        do {
            shape = try AttentionShape(query: query.shape, key: key.shape, value: value.shape)
        } catch {
            throw .usage("\(error.description) (--q \(queryPath), --k \(keyPath), --v \(valuePath))")
        }
        // Query i sits at position m − n + i for --causal and --window alike (end-aligned); with
        // neither, positions do not matter and the mask is `.none`.
        var mask = AttentionMask.none
        if arguments.flag("causal") || window != nil {
            mask = .causalAlignedToEnd(queries: shape.queries, keys: shape.keys)
            mask.isCausal = arguments.flag("causal")
            mask.window = window
        }
        let attention = BlockwiseAttention(mask: mask, score: score, scale: scale, threads: threads)

        let started = ContinuousClock.now
        let result: PartialAttention
        do {
            result = try attention.forward(query: query, key: key, value: value)
        } catch {
            throw error.asCommandError(context: "forward")
        }
        // Finite inputs can still overflow float32 in a score (3e38 values, or a huge --scale):
        // refused, rather than a file of NaN written with exit 0. lse is −inf for a query that
        // sees no key, so only NaN and +inf count there.
        guard result.output.storage.allSatisfy(\.isFinite), result.logSumExp.storage.allSatisfy({ !$0.isNaN && $0 != .infinity }) else {
            throw .failure("the scores overflowed float32 (scale·q·k past 3.4e38), so the output is not finite; scale q or k down, "
                           + "or give a smaller --scale (nothing was written)")
        }
        if let outPath { try TensorFile.write(result.output, to: outPath, option: "out") }
        if let lsePath { try TensorFile.write(result.logSumExp, to: lsePath, option: "lse") }
        var summary = "attention \(score) q \(Tensor.describe(query.shape)) k \(Tensor.describe(key.shape)), " +
            "mask \(mask), \(threads) threads"

        if let gradientPaths {
            let outputGradient = try TensorFile.readFinite(gradientPaths.dout, option: "dout")
            guard outputGradient.shape == query.shape else {
                throw .usage("--dout \(gradientPaths.dout) has shape \(Tensor.describe(outputGradient.shape)); it must match the output [n, H, d] = \(Tensor.describe(query.shape))")
            }
            let gradients: AttentionGradients
            do {
                gradients = try attention.backward(query: query, key: key, value: value, result: result,
                                                   outputGradient: outputGradient)
            } catch {
                throw error.asCommandError(context: "backward")
            }
            guard [gradients.query, gradients.key, gradients.value].allSatisfy({ $0.storage.allSatisfy(\.isFinite) }) else {
                throw .failure("the gradients overflowed float32, so dq, dk and dv are not finite; scale q, k or dout down (they were not written)")
            }
            try TensorFile.write(gradients.query, to: gradientPaths.dq, option: "dq")
            try TensorFile.write(gradients.key, to: gradientPaths.dk, option: "dk")
            try TensorFile.write(gradients.value, to: gradientPaths.dv, option: "dv")
            summary += ", forward and backward"
        }
        let elapsed = ContinuousClock.now - started
        Console.progress(summary + String(format: " in %.1f ms", elapsed.inMilliseconds))
    }
}

extension AttentionError {
    /// A shape the kernel refuses is bad input (exit 2); anything else is a failure at run time.
    func asCommandError(context: String) -> CommandError {
        switch self {
        case .shape: .usage("\(context): \(description)")
        case .parameter: .failure("\(context): \(description)")
        }
    }
}
