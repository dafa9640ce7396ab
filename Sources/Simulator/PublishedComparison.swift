import Foundation
import SequenceParallel

/// The simulator against published GPU measurements: spec-sheet networks (the presets), one
/// efficiency per kernel family calibrated on one published point each, every other point
/// predicted and compared.
///
/// - ring-flash-attention's README (batch api, Llama-3.1-8B attention: 32 heads, 8 K/V heads,
///   d = 128, 8K tokens per GPU, causal, bf16), 8×H800 and 8×A100: its single-GPU flash_attn
///   column calibrates each GPU's forward and backward efficiency; its zigzag forward on H800
///   calibrates the merge family (the elementwise passes that fold partial results, as a fraction
///   of the memory's bandwidth); the ring and the other zigzag figures are held out.
/// - TokenRing's README (4×A10 on PCIe, 32 heads, d = 128, 24,000 tokens, causal): the ring's
///   step time (7.6 ms, comm-bound) calibrates the efficiency of the paths through the host
///   bridge (the PCIe switches' uplinks; links inside a switch stay at spec); the A10's compute takes
///   the A100's calibrated fractions (the same FlashAttention-2 on Ampere); TokenRing's step
///   times are held out.
public enum PublishedComparison {
    /// What a row is for.
    public enum Role: String, Sendable { case calibration = "calibration", heldOut = "held out" }

    public struct Row: Sendable {
        public var source: String, setting: String
        /// "% of ideal" or "ms".
        public var unit: String
        public var published: Double, predicted: Double
        public var role: Role
        /// (predicted − published) / published.
        public var error: Double { (predicted - published) / published }
    }

    /// A published comparison of two schedules (long-context-attention's README gives figures, not
    /// a table): the claim, the predicted ratio of their times, and whether it holds.
    public struct Claim: Sendable {
        public var source: String, setting: String, claim: String
        /// Predicted time of the first schedule over the second's.
        public var ratio: Double
        public var range: ClosedRange<Double>
        public var holds: Bool { range.contains(ratio) }
        /// When it does not hold at the preset, searched over all-to-all efficiencies
        /// (`ScheduleReplay`'s) in [0.001, 1]: the largest at which the ratio reaches the range's
        /// lower end, and the smallest at which it stays within its upper end (nil: none found,
        /// or not sought).
        public var allToAllAtMost: Double? = nil, allToAllAtLeast: Double? = nil
    }

    /// The calibrated parameters, for the record.
    public struct Calibration: Sendable {
        public var forward: [String: Double] = [:], backward: [String: Double] = [:]
        public var merge = 0.0, pcieUplinkEfficiency = 0.0
    }

    static let ringFlash = "ring-flash-attention README (zhuzilin/ring-flash-attention, batch api)"
    static let tokenRing = "TokenRing README (4×A10, nsight step times)"

    /// One GPU of ring-flash-attention's table: iterations per second of the single-GPU flash_attn
    /// (8K tokens, causal) forward and forward + backward, then the % of ideal of ring and zigzag.
    struct RingFlashGPU {
        var preset: String, label: String, memoryGBps: Double
        var flashForward: Double, flashBoth: Double
        var ring: (forward: Double, both: Double), zigzag: (forward: Double, both: Double)
    }

    static let gpus = [
        RingFlashGPU(preset: "8xH800-nvlink", label: "8×H800", memoryGBps: 3350, flashForward: 591.5, flashBoth: 154.7,
                     ring: (0.521, 0.539), zigzag: (0.852, 0.902)),
        RingFlashGPU(preset: "8xA100-nvlink", label: "8×A100", memoryGBps: 2039, flashForward: 373.4, flashBoth: 94.7,
                     ring: (0.514, 0.525), zigzag: (0.817, 0.898)),
    ]

    /// Runs the calibration and every comparison.
    /// - Parameter root: the checkout holding `topologies/` (nil: found as the CLI finds it).
    /// - Returns: the compared numbers, the calibration, and USP's claims.
    public static func run(root: URL? = nil) throws -> (rows: [Row], calibration: Calibration, claims: [Claim]) {
        var rows: [Row] = [], calibration = Calibration()
        let problem = ScheduleReplay.Problem(tokens: 8 * 8192, ranks: 8, causal: true, heads: 32, keyHeads: 8, headDimension: 128, elementBytes: 2)
        let local = ScheduleReplay.Problem(tokens: 8192, ranks: 1, causal: true, heads: 32, keyHeads: 8, headDimension: 128)
        // Useful FLOPs of one GPU's causal 8K forward: what flash_attn's iterations per second time.
        let flops = ScheduleReplay.idealSeconds(local, pass: .forward, rate: 1)
        var mergeFraction: Double?
        for gpu in gpus {
            let topology = try TopologyFile.named(gpu.preset, root: root)
            let forwardSeconds = 1 / gpu.flashForward, backwardSeconds = 1 / gpu.flashBoth - forwardSeconds
            let forwardRate = flops / forwardSeconds, backwardRate = 2.5 * flops / backwardSeconds
            calibration.forward[gpu.label] = forwardRate / (topology.compute?.peak ?? forwardRate)
            calibration.backward[gpu.label] = backwardRate / (topology.compute?.peak ?? backwardRate)
            func ofIdeal(_ algorithm: SequenceParallelKinds.Algorithm, backward: Bool, merge: Double) throws -> Double {
                let rate = gpu.memoryGBps * 1e9 * merge
                var total = try ScheduleReplay(algorithm: algorithm, problem: problem, computeRate: forwardRate, network: topology.network,
                                               mergeRate: rate).run().total
                var ideal = ScheduleReplay.idealSeconds(problem, pass: .forward, rate: forwardRate)
                if backward {
                    total += try ScheduleReplay(algorithm: algorithm, problem: problem, pass: .backward, computeRate: backwardRate,
                                                network: topology.network, mergeRate: rate).run().total
                    ideal += ScheduleReplay.idealSeconds(problem, pass: .backward, rate: backwardRate)
                }
                return ideal / total
            }
            let merge: Double
            if let mergeFraction {
                merge = mergeFraction
            } else {
                // Of ideal rises with the merges' rate: bisect for the published zigzag forward.
                var low = 1e-3, high = 1.0
                for _ in 0..<40 {
                    let mid = (low * high).squareRoot()
                    if try ofIdeal(.zigzagRing, backward: false, merge: mid) < gpu.zigzag.forward { low = mid } else { high = mid }
                }
                merge = (low * high).squareRoot()
                mergeFraction = merge
                calibration.merge = merge
            }
            let setting = { (what: String) in "\(gpu.label), \(what), N = 64K (8K per GPU), H = 32/8, d = 128, causal" }
            for (algorithm, name, published) in [(SequenceParallelKinds.Algorithm.ring, "ring", gpu.ring), (.zigzagRing, "zigzag ring", gpu.zigzag)] {
                let isCalibration = algorithm == .zigzagRing && gpu.preset == gpus[0].preset
                rows.append(Row(source: ringFlash, setting: setting("\(name) forward"), unit: "% of ideal", published: published.forward,
                                predicted: try ofIdeal(algorithm, backward: false, merge: merge), role: isCalibration ? .calibration : .heldOut))
                rows.append(Row(source: ringFlash, setting: setting("\(name) forward + backward"), unit: "% of ideal", published: published.both,
                                predicted: try ofIdeal(algorithm, backward: true, merge: merge), role: .heldOut))
            }
        }
        try tokenRingRows(&rows, &calibration, root: root)
        return (rows, calibration, try uspClaims(root: root))
    }

    static let usp = "long-context-attention README (feifeibear/long-context-attention, USP)"

    /// USP's two comparisons at 128K tokens, 32 heads, d = 128, causal, bf16, forward, on the
    /// presets with their calibrated compute.
    static func uspClaims(root: URL?) throws -> [Claim] {
        func seconds(_ preset: String, _ algorithm: SequenceParallelKinds.Algorithm, u: Int = 1, allToAll: Double? = nil) throws -> Double {
            let topology = try TopologyFile.named(preset, root: root)
            let problem = ScheduleReplay.Problem(tokens: 131_072, ranks: topology.ranks, causal: true, heads: 32, keyHeads: 32, headDimension: 128,
                                                 elementBytes: 2, ulyssesDegree: u)
            return try ScheduleReplay(algorithm: algorithm, problem: problem, computeRate: topology.compute!.forwardRate, network: topology.network,
                                      mergeRate: topology.compute?.mergeRate, allToAllEfficiency: allToAll ?? topology.allToAllEfficiency).run().total
        }
        let setting = "N = 128K, H = 32, d = 128, causal, forward"
        let l20 = { (e: Double?) throws -> Double in try seconds("8xL20-pcie", .ulysses, allToAll: e) / seconds("8xL20-pcie", .usp, u: 2, allToAll: e) }
        var pcie = Claim(source: usp, setting: "8×L20 PCIe, \(setting)", claim: "Ulysses-8 2–4× slower than the hybrid u = 2, r = 4",
                         ratio: try l20(nil), range: 2...4)
        if !pcie.holds {
            // The ratio grows as the all-to-all slows (usp's own exchanges stay inside a PCIe switch):
            // the efficiencies that put it at 4 and at 2, by bisection on a log scale.
            func efficiency(giving target: Double) throws -> Double? {
                if try l20(1) >= target { return 1 }
                var low = 1e-3, high = 1.0
                guard try l20(low) >= target else { return nil }
                for _ in 0..<30 {
                    let mid = (low * high).squareRoot()
                    if try l20(mid) >= target { low = mid } else { high = mid }
                }
                return low
            }
            pcie.allToAllAtMost = try efficiency(giving: pcie.range.lowerBound)
            pcie.allToAllAtLeast = try efficiency(giving: pcie.range.upperBound)
        }
        return [
            Claim(source: usp, setting: "8×A100 NVLink, \(setting)", claim: "Ulysses at least as fast as the (zigzag) ring: time ratio ≤ 1",
                  ratio: try seconds("8xA100-nvlink", .ulysses) / seconds("8xA100-nvlink", .zigzagRing), range: 0...1),
            pcie,
        ]
    }

    /// The TokenRing README's A10 step times.
    static func tokenRingRows(_ rows: inout [Row], _ calibration: inout Calibration, root: URL?) throws {
        let topology = try TopologyFile.named("4xA10-pcie", root: root)
        let peak = topology.compute?.peak ?? 125e12
        let rate = peak * (calibration.forward["8×A100"] ?? 0.5), mergeRate = 600e9 * calibration.merge
        let problem = ScheduleReplay.Problem(tokens: 24_000, ranks: 4, causal: true, heads: 32, keyHeads: 32, headDimension: 128, elementBytes: 2)
        func steps(_ algorithm: SequenceParallelKinds.Algorithm, efficiency: Double) throws -> [Double] {
            let network = try Network(nodes: topology.network.nodes, links: topology.network.links.map {
                // Only the switches' uplinks (both ends past the ranks): the paths through the host bridge (PXB).
                Network.Link(from: $0.from, to: $0.to, bandwidth: $0.bandwidth * ($0.from >= problem.ranks ? efficiency : 1), latency: $0.latency,
                             fullDuplex: $0.fullDuplex)
            })
            let result = try ScheduleReplay(algorithm: algorithm, problem: problem, computeRate: rate, network: network, mergeRate: mergeRate).run()
            return zip(result.stepEnds[0], result.stepStarts[0]).map { ($0 - $1) * 1e3 }
        }
        // The ring's steps that hand K/V on (all but the last) are comm-bound: bisect the links' efficiency.
        let ringStep = 7.6
        func meanRingStep(_ efficiency: Double) throws -> Double {
            let ring = try steps(.zigzagRing, efficiency: efficiency).dropLast()
            return ring.reduce(0, +) / Double(ring.count)
        }
        var low = 1e-3, high = 1.0
        for _ in 0..<40 {
            let mid = (low * high).squareRoot()
            if try meanRingStep(mid) > ringStep { low = mid } else { high = mid }
        }
        let efficiency = (low * high).squareRoot()
        calibration.pcieUplinkEfficiency = efficiency
        let setting = "4×A10 PCIe, N = 24,000, H = 32, d = 128, causal"
        rows.append(Row(source: tokenRing, setting: "\(setting): zigzag ring, mean step (rank 0)", unit: "ms", published: ringStep,
                        predicted: try meanRingStep(efficiency), role: .calibration))
        let token = try steps(.tokenring, efficiency: efficiency)
        rows.append(Row(source: tokenRing, setting: "\(setting): TokenRing, steps 0–1 (rank 0)", unit: "ms", published: 3.5,
                        predicted: (token[0] + token[1]) / 2, role: .heldOut))
        rows.append(Row(source: tokenRing, setting: "\(setting): TokenRing, step 2 (rank 0)", unit: "ms", published: 4.6,
                        predicted: token[2], role: .heldOut))
    }
}
