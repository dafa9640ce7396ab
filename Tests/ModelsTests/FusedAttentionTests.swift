import Foundation
import TensorCore
import Testing
@testable import Models

/// The fused causal attention of one item (`FusedKernels.causalAttention`, on each vector unit this
/// CPU has: AVX2, AVX-512) against the path it replaces (TiledGEMM per 16-query block and the row
/// softmax): the same bits of P and O for every shape it takes, and O near a float64 reference.
@Suite struct FusedAttentionTests {
    /// q | k | v rows of `batch` sequences, each item's P and O, run through `AttentionKernel`.
    struct Case {
        let batch: Int, context: Int, heads: Int, headDimension: Int
        var d: Int { heads * headDimension }
        var qkv: [Float]

        init(batch: Int = 2, context: Int, heads: Int, headDimension: Int, seed: UInt64) {
            self.batch = batch; self.context = context; self.heads = heads; self.headDimension = headDimension
            var random = SeededRandom(seed: seed)
            qkv = (0..<(batch * context * 3 * heads * headDimension)).map { _ in random.uniform(in: -2..<2) }
        }

        /// (P, O) of every item with `kernel`, fused where it takes the item or on the tiled path;
        /// `keepsWeights` false leaves P unread (O only).
        func run(_ kernel: TileKernel, fused: Bool = true, keepsWeights: Bool = true) -> (weights: [Float], output: [Float]) {
            var qkv = self.qkv
            var weights = [Float](repeating: .nan, count: batch * heads * context * context)
            var output = [Float](repeating: .nan, count: batch * context * d)
            qkv.withUnsafeMutableBufferPointer { qkv in
                weights.withUnsafeMutableBufferPointer { weights in
                    output.withUnsafeMutableBufferPointer { output in
                        let workspaces = [GEMMWorkspace()], packs = [GEMMWorkspace()]
                        var attention = AttentionKernel(batch: batch, context: context, heads: heads, headDimension: headDimension,
                                                        kind: .softmax, qkv: qkv.baseAddress!, weights: weights.baseAddress!,
                                                        output: output.baseAddress!, zeroedHeads: nil, forcedKeys: nil,
                                                        workspaces: workspaces, packs: packs, usesOpenBLAS: false, kernel: kernel)
                        attention.keepsWeights = keepsWeights
                        attention.fusesItems = fused
                        let scratch = AttentionKernel.Scratch(gemm: workspaces[0], pack: packs[0])
                        for b in 0..<batch { for h in 0..<heads { attention.forward(batch: b, head: h, scores: nil, scratch: scratch) } }
                    }
                }
            }
            return (weights, output)
        }

        /// dL/d[q | k | v] of every item with `kernel`, from the output gradient `dO` ((B·T, d)),
        /// after a forward pass with the same kernel, fused or on the tiled path.
        func runBackward(_ kernel: TileKernel, fused: Bool = true, outputGradient dO: [Float]) -> [Float] {
            var qkv = self.qkv, dO = dO
            var weights = [Float](repeating: .nan, count: batch * heads * context * context)
            var output = [Float](repeating: .nan, count: batch * context * d)
            var dqkv = [Float](repeating: .nan, count: qkv.count)
            var tile = [Float](repeating: .nan, count: context * context)
            qkv.withUnsafeMutableBufferPointer { qkv in
                weights.withUnsafeMutableBufferPointer { weights in
                    output.withUnsafeMutableBufferPointer { output in
                        dO.withUnsafeMutableBufferPointer { dO in
                            dqkv.withUnsafeMutableBufferPointer { dqkv in
                                tile.withUnsafeMutableBufferPointer { tile in
                                    let workspaces = [GEMMWorkspace()], packs = [GEMMWorkspace()]
                                    var attention = AttentionKernel(
                                        batch: batch, context: context, heads: heads, headDimension: headDimension, kind: .softmax,
                                        qkv: qkv.baseAddress!, weights: weights.baseAddress!, output: output.baseAddress!,
                                        zeroedHeads: nil, forcedKeys: nil, workspaces: workspaces, packs: packs, usesOpenBLAS: false,
                                        kernel: kernel)
                                    attention.fusesItems = fused
                                    let scratch = AttentionKernel.Scratch(gemm: workspaces[0], pack: packs[0])
                                    let dq = dqkv.baseAddress!, dk = dq + d, dv = dq + 2 * d
                                    for b in 0..<batch {
                                        for h in 0..<heads {
                                            attention.forward(batch: b, head: h, scores: nil, scratch: scratch)
                                            attention.backward(batch: b, head: h, dO: dO.baseAddress!, dq: dq, dk: dk, dv: dv,
                                                               tile: tile.baseAddress!, scratch: scratch)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return dqkv
        }

        /// dL/d[q | k | v] in float64 for the output gradient `dO`: dV = Pᵀ·dO, dP = dO·Vᵀ,
        /// dS = P ⊙ (dP − rowsum(P ⊙ dP)), dQ = dS·K/√dh, dK = dSᵀ·Q/√dh.
        func referenceBackward(outputGradient dO: [Float]) -> [Double] {
            let d = self.d, dh = headDimension, t = context, scale = 1 / Double(dh).squareRoot()
            var grad = [Double](repeating: 0, count: qkv.count)
            for b in 0..<batch {
                for h in 0..<heads {
                    func at(_ i: Int, _ part: Int, _ c: Int) -> Double { Double(qkv[(b * t + i) * 3 * d + part * d + h * dh + c]) }
                    func g(_ i: Int, _ c: Int) -> Double { Double(dO[(b * t + i) * d + h * dh + c]) }
                    func add(_ i: Int, _ part: Int, _ c: Int, _ x: Double) {
                        let index = (b * t + i) * 3 * d + part * d + h * dh + c
                        grad[index] += x
                    }
                    for i in 0..<t {
                        let scores = (0...i).map { j in (0..<dh).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } * scale }
                        let m = scores.max()!, e = scores.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                        let p = e.map { $0 / z }
                        let dp = (0...i).map { j in (0..<dh).reduce(0.0) { $0 + g(i, $1) * at(j, 2, $1) } }
                        let rowDot = zip(p, dp).reduce(0.0) { $0 + $1.0 * $1.1 }
                        for j in 0...i {
                            let ds = p[j] * (dp[j] - rowDot)
                            for c in 0..<dh {
                                add(j, 2, c, p[j] * g(i, c))
                                add(i, 0, c, ds * at(j, 1, c) * scale)
                                add(j, 1, c, ds * at(i, 0, c) * scale)
                            }
                        }
                    }
                }
            }
            return grad
        }

        /// O in float64: softmax over j ≤ i of q_i·k_j/√dh, times V.
        var reference: [Double] {
            let d = self.d, dh = headDimension, t = context
            var out = [Double](repeating: 0, count: batch * t * d)
            for b in 0..<batch {
                for h in 0..<heads {
                    func at(_ i: Int, _ part: Int, _ c: Int) -> Double { Double(qkv[(b * t + i) * 3 * d + part * d + h * dh + c]) }
                    for i in 0..<t {
                        let scores = (0...i).map { j in (0..<dh).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } / Double(dh).squareRoot() }
                        let m = scores.max()!, e = scores.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                        for c in 0..<dh {
                            out[(b * t + i) * d + h * dh + c] = (0...i).reduce(0.0) { $0 + e[$1] / z * at($1, 2, c) }
                        }
                    }
                }
            }
            return out
        }
    }

    /// The fused kernels this CPU runs.
    static let fusedKernels = TileKernel.allCases.filter { FusedKernels.runs(on: $0) }

    @Test(arguments: [(1, 16), (16, 16), (37, 16), (64, 16), (100, 32), (64, 64), (256, 16), (48, 48)])
    func fusedGivesTheBitsOfTheTiledPath(context: Int, headDimension: Int) throws {
        try #require(!Self.fusedKernels.isEmpty, "needs a CPU with AVX2 + FMA at least: the fused kernels run nowhere else")
        let test = Case(context: context, heads: 2, headDimension: headDimension, seed: UInt64(context * 1000 + headDimension))
        #expect(FusedKernels.fitsCausalAttention(context: context, headDimension: headDimension))
        let tiled = test.run(.avx2, fused: false)
        let reference = test.reference
        let norm = reference.map { $0 * $0 }.reduce(0, +).squareRoot()
        for kernel in Self.fusedKernels {
            let fused = test.run(kernel), transient = test.run(kernel, keepsWeights: false)
            // (Compared as Bools: a failing array comparison would print thousands of numbers.)
            let sameWeights = tiled.weights.map(\.bitPattern) == fused.weights.map(\.bitPattern)
            let sameOutput = tiled.output.map(\.bitPattern) == fused.output.map(\.bitPattern)
            #expect(sameWeights, "P differs between the fused \(kernel) kernel and the tiled path")
            #expect(sameOutput, "O differs between the fused \(kernel) kernel and the tiled path")
            #expect(transient.output.map(\.bitPattern) == fused.output.map(\.bitPattern), "\(kernel): O differs when P is not kept")
            let untouched = transient.weights.allSatisfy { $0.isNaN }
            #expect(untouched, "\(kernel): P was written although the kernel was told not to keep it")
            // ‖O − O₆₄‖/‖O₆₄‖ ≤ 1e-5: float32 dot products of length ≤ 256 and the exp's 4e-7.
            let difference = zip(fused.output, reference).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
            #expect(difference / norm <= 1e-5, "\(kernel): ‖Δ‖/‖O‖ = \(difference / norm)")
        }
    }

    @Test(arguments: [(1, 16), (16, 16), (37, 16), (64, 16), (100, 32), (64, 64), (256, 16), (48, 48)])
    func fusedBackwardGivesTheBitsOfTheTiledPath(context: Int, headDimension: Int) throws {
        try #require(!Self.fusedKernels.isEmpty, "needs a CPU with AVX2 + FMA at least: the fused kernels run nowhere else")
        let test = Case(context: context, heads: 2, headDimension: headDimension, seed: UInt64(context * 7 + headDimension))
        var random = SeededRandom(seed: UInt64(context + 99))
        let dO = (0..<(test.batch * context * test.d)).map { _ in random.uniform(in: Float(-1)..<1) }
        let tiled = test.runBackward(.avx2, fused: false, outputGradient: dO)
        let reference = test.referenceBackward(outputGradient: dO)
        let norm = reference.map { $0 * $0 }.reduce(0, +).squareRoot()
        for kernel in Self.fusedKernels {
            let fused = test.runBackward(kernel, outputGradient: dO)
            let same = tiled.map(\.bitPattern) == fused.map(\.bitPattern)
            #expect(same, "dq | dk | dv differ between the fused \(kernel) kernel and the tiled path")
            // ‖Δ‖/‖grad₆₄‖ ≤ 1e-5: float32 sums of length ≤ 256 (dh, or the keys) and the exp's 4e-7.
            let difference = zip(fused, reference).map { (Double($0) - $1) * (Double($0) - $1) }.reduce(0, +).squareRoot()
            #expect(difference / norm <= 1e-5, "\(kernel): ‖Δ‖/‖grad‖ = \(difference / norm)")
        }
    }

    @Test func shapesTheFusedKernelDoesNotTakeStayOnTheTiledPath() {
        #expect(!FusedKernels.fitsCausalAttention(context: 257, headDimension: 16))
        #expect(!FusedKernels.fitsCausalAttention(context: 64, headDimension: 8))
        #expect(!FusedKernels.fitsCausalAttention(context: 64, headDimension: 24))
        #expect(!FusedKernels.fitsCausalAttention(context: 0, headDimension: 16))
        // Head width 8 runs the tiled path on every kernel: P is written whatever keepsWeights says.
        let test = Case(context: 20, heads: 2, headDimension: 8, seed: 3)
        for kernel in TileKernel.supported {
            let run = test.run(kernel, keepsWeights: false)
            let written = !run.weights.contains { $0.isNaN } && run.output.allSatisfy { $0.isFinite }
            #expect(written, "\(kernel)")
        }
    }
}
