import Attention
import Foundation
import TensorCore

/// The measurements behind `loom bench attention`: the blockwise kernel, and in the same process on
/// the same inputs its two baselines, OpenBLAS sgemm (the limiting rate) and the materialised kernel.
///
/// FLOPs count useful work only: forward `4·H·d·P`, P the number of visible (query, key) pairs
/// (n·m without a mask, n(n+1)/2 causal with n = m), so a causal kernel that skips masked tiles is
/// not credited for them; backward is 2.5× forward (five n×m products against two). Rates use the
/// median sample.
struct AttentionBenchmark {
    /// Whether a case is causal.
    enum Causality: String, CaseIterable {
        case both, yes, no
        /// The mask settings to run, non-causal first.
        var cases: [Bool] {
            switch self {
            case .both: [false, true]
            case .yes: [true]
            case .no: [false]
            }
        }
    }

    /// Which pass to time.
    enum Pass: String, CaseIterable {
        case fwd, bwd, both
        /// The passes to run, forward first.
        var cases: [Pass] { self == .both ? [.fwd, .bwd] : [self] }
    }

    /// What to run.
    struct Configuration {
        /// Sequence lengths n = m.
        var sizes: [Int]
        /// Head dimensions d.
        var headDimensions: [Int]
        /// Query (and key/value) heads H.
        var heads: Int
        /// Causal, non-causal or both.
        var causality: Causality
        /// Forward, backward or both.
        var pass: Pass
        /// Threads for the kernel and for OpenBLAS.
        var threads: Int
        /// Timed samples per case, after one warm-up.
        var repeatCount: Int
        /// The largest n for which the materialised kernel runs (its memory is O(n²)).
        var naiveMax: Int
        /// Tile sizes for tuning; nil keeps each pass's tuned default.
        var queryBlock: Int? = nil
        var keyBlock: Int? = nil
        /// Other tiles to time against these, turn by turn in the same process (`--compare-blocks`).
        var compareBlocks: Blocks? = nil
        /// Seeds the inputs; case (n, d) uses `seed + n + d` for q, k, v, dout in turn.
        var seed: UInt64 = 20_240_601

        /// Every case in run order.
        var cases: [Case] {
            sizes.flatMap { n in
                headDimensions.flatMap { d in
                    causality.cases.flatMap { isCausal in
                        pass.cases.map { Case(n: n, heads: heads, headDimension: d, isCausal: isCausal, pass: $0) }
                    }
                }
            }
        }
    }

    /// A tile shape: query rows × key rows.
    struct Blocks: Equatable {
        var query: Int
        var key: Int

        /// The largest side accepted: the kernels clamp a side to n anyway, and this keeps a typo
        /// from reading as a request.
        static let largest = 65_536

        /// Parses `QxK` (or `Q×K`), each side 1 … `largest`; nil when it is not that.
        init?(_ text: String) {
            let parts = text.split(separator: text.contains("×") ? "×" : "x", omittingEmptySubsequences: false)
            guard parts.count == 2, let query = Int(parts[0]), let key = Int(parts[1]),
                  (1...Self.largest).contains(query), (1...Self.largest).contains(key) else { return nil }
            self.query = query
            self.key = key
        }

        var label: String { "\(query)×\(key)" }
    }

    /// One row of the table: n = m, H, d, mask, pass.
    struct Case {
        /// Queries and keys (n = m).
        var n: Int
        /// Heads H (= Hkv).
        var heads: Int
        /// Head dimension d.
        var headDimension: Int
        /// Causal (aligned to the end; for n = m the lower triangle).
        var isCausal: Bool
        /// `fwd` or `bwd`.
        var pass: Pass

        /// The mask the kernel runs with.
        var mask: AttentionMask { isCausal ? .causalAlignedToEnd(queries: n, keys: n) : .none }

        /// Visible (query, key) pairs under the mask.
        var visiblePairs: Int {
            (0..<n).reduce(0) { $0 + mask.visibleKeys(query: $1, keyCount: n).count }
        }

        /// Useful floating-point operations: forward `4·H·d·pairs`, backward 2.5× that.
        var flops: Double {
            let forward = 4 * Double(heads) * Double(headDimension) * Double(visiblePairs)
            return pass == .bwd ? 2.5 * forward : forward
        }

        /// `n=4096 H=8 d=64 causal fwd`, for progress lines.
        var label: String {
            "n=\(n) H=\(heads) d=\(headDimension) \(isCausal ? "causal" : "full") \(pass.rawValue)"
        }
    }

    /// The measured figures of one case.
    struct Result {
        /// The case.
        var item: Case
        /// The blockwise kernel's samples.
        var samples: Samples
        /// The blockwise kernel's rate at the median sample.
        var gigaflops: Double
        /// The sgemm baseline at the comparable size.
        var sgemm: SgemmBaseline
        /// The materialised kernel's samples (forward, n ≤ naive-max only).
        var naive: Samples?
        /// Its rate at the median sample, over the same useful FLOPs.
        var naiveGigaflops: Double?
        /// `‖blockwise − naive‖₂ / ‖naive‖₂` on the output, when the naive kernel ran.
        var naiveRelativeError: Double?
        /// PyTorch's samples of the case, with `--compare-torch` while its peer answered.
        var torch: TorchResult? = nil
        /// The kernel on the `--compare-blocks` tiles, when asked for.
        var compared: ComparedBlocks? = nil
        /// The kernel's rate over sgemm's turn by turn (each turn runs both back to back).
        var sgemmTurns = TurnRatios([])
        /// The kernel's rate over PyTorch's turn by turn, with `--compare-torch`.
        var torchTurns: TurnRatios? = nil
    }

    /// The kernel on other tiles (`--compare-blocks`), a fourth sample in each turn.
    struct ComparedBlocks {
        var blocks: Blocks
        var samples: Samples
        /// Median over turns of the configured tiles' time over these tiles' (above 1: these
        /// are faster), and in how many turns these were faster.
        var speedup: Double
        var faster: Int
        var turns: Int
        /// The largest `‖other − configured‖₂ / ‖configured‖₂` over the outputs (the gradients
        /// of a backward case): other tiles sum in another order, so a few 1e-7, not 0.
        var relativeError: Double
    }

    /// An sgemm rate at one square size.
    struct SgemmBaseline {
        /// M = N = K.
        var size: Int
        /// Median GFLOP/s (2·size³ per call).
        var gigaflops: Double
    }

    /// PyTorch's samples of one case (`--compare-torch`), as it timed them itself.
    struct TorchResult {
        var samples: Samples
        var gigaflops: Double
    }

    /// The relative error above which the blockwise output is reported as not matching the naive
    /// kernel: float32 rounding over m ≤ 16K terms stays near 1e-6; a wrong mask or merge is O(1).
    static let matchTolerance = 1e-4

    /// The sgemm size quoted at the top of the report.
    static let referenceSgemmSize = 2048

    let configuration: Configuration
    /// PyTorch in a child process, alternated with every case (`--compare-torch`); nil without.
    let torch: TorchPeer?
    private(set) var checksum = 0.0
    private var sgemmOperands: [Int: SgemmOperands] = [:]

    /// A benchmark of `configuration`.
    init(configuration: Configuration, torch: TorchPeer? = nil) {
        self.configuration = configuration
        self.torch = torch
    }

    /// The square sgemm size whose FLOPs (2s³) match `flops`, rounded to a multiple of 128 and
    /// kept in 256 … 4096: beyond 4096 OpenBLAS's rate no longer rises, only the time and memory.
    static func comparableSgemmSize(flops: Double) -> Int {
        let rounded = Int((Foundation.cbrt(flops / 2) / 128).rounded()) * 128
        return min(4096, max(256, rounded))
    }

    /// Times OpenBLAS sgemm at size³ on the configured threads, on its own.
    mutating func sgemm(size: Int) -> SgemmBaseline {
        let call = sgemmCall(size: size)
        let samples = Samples.measure(count: configuration.repeatCount, checksum: &checksum, call)
        BLAS.releaseThreads()
        return SgemmBaseline(size: size, gigaflops: samples.gigaflopsPerSecond(2 * pow(Double(size), 3)))
    }

    /// One sgemm of size³ on seeded operands made once per size and kept for the run.
    private mutating func sgemmCall(size: Int) -> () -> Double {
        let operands: SgemmOperands
        if let cached = sgemmOperands[size] {
            operands = cached
        } else {
            operands = SgemmOperands(size: size, seed: configuration.seed &+ UInt64(size))
            sgemmOperands = [size: operands]     // one size at a time: 4096³ operands are 200 MB
        }
        return { operands.multiply() }
    }

    /// Square sgemm operands, `[s, s]` each, seeded normals.
    private final class SgemmOperands {
        let size: Int
        let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>

        init(size: Int, seed: UInt64) {
            self.size = size
            var generator = SeededRandom(seed: seed)
            a = .allocate(capacity: size * size)
            b = .allocate(capacity: size * size)
            c = .allocate(capacity: size * size)
            for i in 0..<(size * size) {
                a[i] = generator.normal()
                b[i] = generator.normal()
            }
            c.initialize(repeating: 0, count: size * size)
        }

        deinit { a.deallocate(); b.deallocate(); c.deallocate() }

        /// C = A·B; returns two elements of C for the checksum.
        func multiply() -> Double {
            BLAS.sgemm(.none, .none, m: size, n: size, k: size, alpha: 1, a: a, lda: size, b: b, ldb: size,
                       beta: 0, c: c, ldc: size)
            return Double(c[0]) + Double(c[size * size - 1])
        }
    }

    /// Runs every case, reporting each to `progress` as it finishes.
    /// - Throws: `CommandError.failure` when the kernel refuses a case.
    mutating func run(progress: (Int, Int, Result) -> Void) throws(CommandError) -> [Result] {
        let cases = configuration.cases
        var results: [Result] = []
        // Inputs are made once per (n, d) and shared by its mask and pass cases.
        var inputs: (key: [Int], q: Tensor, k: Tensor, v: Tensor, dout: Tensor)?
        for (index, item) in cases.enumerated() {
            let inputKey = [item.n, item.headDimension]
            if inputs?.key != inputKey {
                inputs = nil                                                  // free the previous size first
                var generator = SeededRandom(seed: configuration.seed &+ UInt64(item.n + item.headDimension))
                let shape = [item.n, item.heads, item.headDimension]          // [n, H, d]
                inputs = (inputKey,
                          Tensor.randomNormal(shape: shape, using: &generator),
                          Tensor.randomNormal(shape: shape, using: &generator),
                          Tensor.randomNormal(shape: shape, using: &generator),
                          Tensor.randomNormal(shape: shape, using: &generator))
            }
            guard let inputs else { continue }
            let result = try measure(item, query: inputs.q, key: inputs.k, value: inputs.v, outputGradient: inputs.dout)
            results.append(result)
            progress(index + 1, cases.count, result)
        }
        return results
    }

    /// Bytes a case allocates, about, for `MemoryBound` (nil past Int): q, k, v and dO, the
    /// forward's output kept for the backward, the three gradients, and the kernel's copies (K and
    /// V packed, Q and dO transposed, a dq per thread), each n·H·d floats; with the materialised
    /// baseline, its n × n score matrix too; with `--compare-blocks`, six more (the configured
    /// tiles' outputs kept as the reference, and the compared tiles' own).
    static func bytes(_ item: Case, threads: Int, naive: Bool, compared: Bool = false) -> Int? {
        MemoryBudget.floatBytes([[14 + max(1, threads) + (compared ? 6 : 0), item.n, item.heads, item.headDimension]]
                                + (naive ? [[item.n, item.n]] : []))
    }

    /// Measures one case: the naive kernel first (forward, small n), then the blockwise kernel,
    /// whose output is checked against it, alternating sample by sample with the sgemm baseline.
    private mutating func measure(_ item: Case, query: Tensor, key: Tensor, value: Tensor,
                                  outputGradient: Tensor) throws(CommandError) -> Result {
        let attention = BlockwiseAttention(mask: item.mask, score: .softmax, threads: configuration.threads,
                                           queryBlock: configuration.queryBlock, keyBlock: configuration.keyBlock)
        let repeatCount = configuration.repeatCount
        var naive: Samples?
        var naiveOutput: Tensor?
        if item.pass == .fwd && item.n <= configuration.naiveMax {
            naive = try Self.mapError(item) { () throws(AttentionError) -> Samples in
                try Samples.measure(count: repeatCount, checksum: &checksum) { () throws(AttentionError) -> Double in
                    let result = try MaterializedAttention.forward(query: query, key: key, value: value, mask: item.mask)
                    naiveOutput = result.output
                    return Self.sum(result.output)
                }
            }
        }
        let forward = try Self.mapError(item) { () throws(AttentionError) -> PartialAttention in
            try attention.forward(query: query, key: key, value: value)
        }
        var naiveRelativeError: Double?
        if let naiveOutput { naiveRelativeError = Self.relativeError(forward.output, naiveOutput) }
        // The kernel and its sgemm baseline alternate sample by sample (see `measureAlternately`).
        let size = Self.comparableSgemmSize(flops: item.flops)
        let sgemmCall = sgemmCall(size: size)
        // A sample times the kernel alone, as PyTorch's and sgemm's samples do: the checksum's sum
        // over every output (tens of ms at n = 8192) and the outputs' release run untimed after it.
        // The case's pass on some tiles: the forward's output, or the three gradients.
        func pass(_ kernel: BlockwiseAttention) throws(AttentionError) -> [Tensor] {
            switch item.pass {
            case .fwd, .both:
                return [try kernel.forward(query: query, key: key, value: value).output]
            case .bwd:
                let gradients = try kernel.backward(query: query, key: key, value: value, result: forward,
                                                    outputGradient: outputGradient)
                return [gradients.query, gradients.key, gradients.value]
            }
        }
        var outputs: [Tensor] = []
        let kernel = { () throws(AttentionError) -> Double in
            outputs = try pass(attention)
            return 0
        }
        // PyTorch's scaled_dot_product_attention on inputs of the same shape, its backward alone
        // after an untimed forward, as the third of each turn.
        let torchCall: (() -> Duration?)? = torch.map { peer in
            let request: [String: Any] = ["op": "attention", "n": item.n, "heads": item.heads, "head_dim": item.headDimension,
                                          "causal": item.isCausal, "pass": item.pass == .bwd ? "bwd" : "fwd"]
            return { peer.sample(request) }
        }
        // The kernel on the compared tiles, timed by itself as the fourth of each turn; its outputs
        // are checked against the configured tiles' first ones, untimed.
        var reference: [Tensor] = []
        var comparedError = 0.0, comparedChecksum = 0.0
        let comparedCall: (() -> Duration?)? = configuration.compareBlocks.map { blocks in
            let other = BlockwiseAttention(mask: item.mask, score: .softmax, threads: configuration.threads,
                                           queryBlock: blocks.query, keyBlock: blocks.key)
            return {
                let clock = ContinuousClock(), start = clock.now
                guard let produced = try? pass(other) else { return nil }
                let elapsed = clock.now - start
                for (index, tensor) in produced.enumerated() where index < reference.count {
                    // A NaN stays (Swift's max would drop it), so the row is flagged.
                    let error = Self.relativeError(tensor, reference[index])
                    comparedError = error.isNaN || comparedError.isNaN ? .nan : max(comparedError, error)
                }
                comparedChecksum += produced.reduce(0) { $0 + Self.sum($1) }
                return elapsed
            }
        }
        let (samples, sgemmSamples, torchSamples, comparedSamples) = try Self.mapError(item) { () throws(AttentionError) -> (Samples, Samples, Samples?, Samples?) in
            try Samples.measureInTurn(count: repeatCount, checksum: &checksum, kernel, afterFirst: {
                defer { outputs = [] }
                if comparedCall != nil && reference.isEmpty { reference = outputs }
                return outputs.reduce(0) { $0 + Self.sum($1) }
            }, sgemmCall, afterSecond: { BLAS.releaseThreads() }, third: torchCall, fourth: comparedCall)
        }
        checksum += comparedChecksum
        if configuration.compareBlocks != nil && comparedSamples == nil {
            throw .failure("bench attention: \(item.label): the kernel refused the tiles of --compare-blocks")
        }
        var compared: ComparedBlocks?
        if let blocks = configuration.compareBlocks, let other = comparedSamples {
            let paired = samples.pairedSpeedup(of: other)
            compared = ComparedBlocks(blocks: blocks, samples: other, speedup: paired.median, faster: paired.faster,
                                      turns: paired.turns, relativeError: comparedError)
        }
        let baseline = SgemmBaseline(size: size, gigaflops: sgemmSamples.gigaflopsPerSecond(2 * pow(Double(size), 3)))
        return Result(item: item, samples: samples, gigaflops: samples.gigaflopsPerSecond(item.flops),
                      sgemm: baseline, naive: naive,
                      naiveGigaflops: naive.map { $0.gigaflopsPerSecond(item.flops) },
                      naiveRelativeError: naiveRelativeError,
                      torch: torchSamples.map { TorchResult(samples: $0, gigaflops: $0.gigaflopsPerSecond(item.flops)) },
                      compared: compared,
                      sgemmTurns: samples.turnRatios(over: sgemmSamples, scale: item.flops / (2 * pow(Double(size), 3))),
                      torchTurns: torchSamples.map { samples.turnRatios(over: $0) })
    }

    /// Runs `body`, turning a kernel's refusal into a run-time failure that names the case.
    private static func mapError<T>(_ item: Case, _ body: () throws(AttentionError) -> T) throws(CommandError) -> T {
        do {
            return try body()
        } catch {
            throw .failure("bench attention: \(item.label): \(error.description)")
        }
    }

    /// The sum of a tensor's elements in float64: the checksum that keeps the work observable.
    static func sum(_ tensor: Tensor) -> Double {
        tensor.withUnsafeBufferPointer { buffer in
            var total = 0.0
            for x in buffer { total += Double(x) }
            return total
        }
    }

    /// `‖a − b‖₂ / ‖b‖₂` in float64.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        guard a.shape == b.shape else { return .infinity }
        var difference = 0.0, reference = 0.0
        for (x, y) in zip(a.storage, b.storage) {
            let delta = Double(x) - Double(y)
            difference += delta * delta
            reference += Double(y) * Double(y)
        }
        return reference > 0 ? (difference / reference).squareRoot() : difference.squareRoot()
    }
}
