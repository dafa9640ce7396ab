internal import CKernels
import Foundation

/// The register tile Loom's products run on, chosen once per process from the CPU's features, so
/// one binary runs at full speed on AVX2 and AVX-512 machines and never reaches an instruction its
/// CPU lacks (clusters of mixed nodes share one build).
///
/// Both tiles compute every element of C as the same chain of fused multiply-adds in the same
/// order, so they give the same bits: a result does not depend on which node's CPU ran it.
public enum TileKernel: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The 6 × 16 tile in pairs of 8-lane vectors: on x86-64 the C kernel with AVX2 + FMA target
    /// attributes (`avx2Block`), elsewhere Swift's `RegisterTile` compiled for the build target.
    case avx2
    /// The C kernels of CKernels with AVX-512 target attributes: up to 8 × 32 over two packed
    /// panels at once (up to sixteen zmm accumulators, half the broadcasts of A per multiply-add),
    /// up to 8 × 16 for a last odd panel. TiledGEMM's products take 6 rows, attention's strips 8.
    case avx512

    /// The environment variable that forces a kernel: `avx2`, `avx512` or `auto`.
    public static let environmentVariable = "LOOM_KERNEL"

    /// The kernel this process uses: `LOOM_KERNEL` when it names a kernel this CPU supports, else
    /// the widest one it supports. `checkEnvironment()` turns a bad setting into an error.
    public static let active: TileKernel = {
        if let forced = try? chosen(ProcessInfo.processInfo.environment[environmentVariable]) { return forced }
        return best
    }()

    /// The widest kernel this CPU supports.
    public static var best: TileKernel { supported.last ?? .avx2 }

    /// The kernels this CPU (and OS) can run, narrowest first.
    public static let supported: [TileKernel] = {
        var kernels: [TileKernel] = [.avx2]
        if loom_cpu_has_avx512f() != 0 { kernels.append(.avx512) }
        return kernels
    }()

    /// Whether this CPU can run the kernel.
    public var isSupported: Bool { Self.supported.contains(self) }

    /// e.g. `AVX-512 8×32 (C, dispatched)`.
    public var description: String {
        switch self {
        case .avx2:
            return Self.hasCTile ? "AVX2 6×16 (C)" : "6×16 Swift tile (\(SIMDTarget.buildTarget))"
        case .avx512: return "AVX-512 8×32 (C, dispatched)"
        }
    }

    /// Rows of C one call of the kernel covers at most: attention's strip height. With 8 rows
    /// on AVX-512 each key and value is loaded from L2 a quarter fewer times than with 6.
    public var rows: Int { self == .avx512 ? 8 : RegisterTile.rows }

    /// Columns of C one call of the kernel covers at most (two packed panels for AVX-512).
    public var columns: Int { self == .avx512 ? 2 * RegisterTile.columns : RegisterTile.columns }

    /// The kernel a `LOOM_KERNEL` value asks for (nil or `auto`: the best).
    /// - Throws: `TileKernelError` for an unknown name or a kernel this CPU cannot run.
    public static func chosen(_ value: String?) throws(TileKernelError) -> TileKernel {
        guard let value, !value.isEmpty, value != "auto" else { return best }
        guard let kernel = TileKernel(rawValue: value.lowercased()) else { throw .unknown(value) }
        guard kernel.isSupported else { throw .unsupported(kernel) }
        return kernel
    }

    /// Checks `LOOM_KERNEL` up front, so a command fails with the fix instead of silently running
    /// another kernel than the one asked for.
    public static func checkEnvironment() throws(TileKernelError) {
        _ = try chosen(ProcessInfo.processInfo.environment[environmentVariable])
    }

    /// One block of up to `rows` rows × `columns` of C over k steps, as `RegisterTile.block`: A(r, p)
    /// is `a[r·rowStride + p·kStride]`; B is one packed panel (ldb apart per step) or, when
    /// `columns` is 32, two panels `panelStride` floats apart.
    /// - Precondition: `self == .avx512` and the CPU supports it; 1 ≤ rows ≤ 8; columns is 16 or 32.
    @inline(__always)
    func block(rows: Int, columns: Int, _ k: Int, _ a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
               _ b: UnsafePointer<Float>, _ ldb: Int, panelStride: Int,
               _ c: UnsafeMutablePointer<Float>, _ ldc: Int, alpha: Float, accumulating: Bool, relu: Bool,
               mask: UnsafePointer<Float>? = nil, ldm: Int = 0) {
        if columns == 2 * RegisterTile.columns {
            loom_tile_avx512_32(Int32(rows), k, a, rowStride, kStride, b, ldb, panelStride, c, ldc, alpha,
                                  accumulating ? 1 : 0, relu ? 1 : 0, mask, ldm)
        } else {
            loom_tile_avx512_16(Int32(rows), k, a, rowStride, kStride, b, ldb, c, ldc, alpha, accumulating ? 1 : 0, relu ? 1 : 0,
                                  mask, ldm)
        }
    }

    /// GFLOP/s of this kernel's widest block alone (6 rows, k = 256) on operands that stay in L1:
    /// what a product would reach with no packing, no cache misses and no edges.
    /// - Precondition: `isSupported`.
    public func ceiling(calls: Int = 2_000, samples: Int = 7) -> Double {
        // The fastest of `samples` runs (a zero duration marks a NaN result: no rate).
        let runs = (0..<max(1, samples)).map { _ in ceilingSample(calls: calls) }
        guard let fastest = runs.filter({ $0.duration > .zero }).min(by: { $0.duration < $1.duration }) else { return 0 }
        return fastest.flops / fastest.duration.inSeconds / 1e9
    }

    /// One timed run of `ceiling`'s block, `calls` times over: its wall time and its
    /// floating-point operations, for a benchmark that times the tile beside each of its own
    /// samples (`loom bench gemm`'s "of tile"), so both see the same moment of the machine.
    /// - Precondition: `isSupported`; calls ≥ 1.
    public func ceilingSample(calls: Int) -> (duration: Duration, flops: Double) {
        let k = 256, width = columns
        let a = UnsafeMutablePointer<Float>.allocate(capacity: 6 * k), b = UnsafeMutablePointer<Float>.allocate(capacity: width * k)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: 6 * width)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<(6 * k) { a[i] = Float(i % 7) / 64 }
        for i in 0..<(width * k) { b[i] = Float(i % 5) / 64 }
        let clock = ContinuousClock(), start = clock.now
        for _ in 0..<max(1, calls) {
            if self == .avx2 {
                Self.avx2Block(rows: 6, k, a, rowStride: 1, kStride: 6, b, 16, c, 16, alpha: 1, accumulating: false, relu: false)
            } else {
                block(rows: 6, columns: width, k, a, rowStride: 1, kStride: 6, b, 16, panelStride: 16 * k, c, width,
                      alpha: 1, accumulating: false, relu: false)
            }
        }
        let duration = clock.now - start
        // c feeds the result, so the loop cannot be optimised away.
        return (c[0].isNaN ? .zero : duration, 2 * 6 * Double(width) * Double(k) * Double(max(1, calls)))
    }

    /// GFLOP/s of `ceiling`'s block on `threads` threads at once, summed: what the cores deliver
    /// together. On a VM whose virtual CPUs the host has put on one physical core's two hardware
    /// threads, or beside a busy neighbour, this is well below `threads` × `ceiling()`.
    /// - Precondition: `isSupported`; threads ≥ 1.
    public func ceilingTogether(threads: Int, calls: Int = 2_000, samples: Int = 5) -> Double {
        let rates = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
        defer { rates.deallocate() }
        nonisolated(unsafe) let slots = rates          // each thread writes its own slot
        var best = 0.0
        for _ in 0..<samples {
            // All start together, so their timed stretches overlap; the round's sum is one sample.
            DispatchQueue.concurrentPerform(iterations: threads) { thread in
                slots[thread] = ceiling(calls: calls, samples: 1)
            }
            best = Swift.max(best, rates.reduce(0, +))
        }
        return best
    }
}

/// A `LOOM_KERNEL` setting that cannot be honoured.
public enum TileKernelError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case unsupported(TileKernel)

    public var description: String {
        switch self {
        case .unknown(let value):
            return "\(TileKernel.environmentVariable)=\(value) names no kernel; use avx2, avx512 or auto (or unset it)"
        case .unsupported(let kernel):
            return "\(TileKernel.environmentVariable)=\(kernel.rawValue), but this CPU (or its OS) has no \(kernel == .avx512 ? "AVX-512F" : "AVX2 + FMA"); "
                + "use \(TileKernel.supported.map(\.rawValue).joined(separator: " or ")) or auto"
        }
    }
}

extension TileKernel {
    /// `count` blocks of up to 6 rows × 16 columns on the AVX2 tile, one per 16-column panel of B
    /// (`panelStride` floats apart, rows `ldb` apart), C's blocks side by side: `C = α·A·B`, or
    /// `C += α·A·B` when `accumulating`; A rows `lda` apart, read in place. Attention's strips: one
    /// call per strip instead of one per panel. The C tile (`loom_strip_avx2`) where `hasCTile`,
    /// else Swift's `RegisterTile`; the same bits either way.
    /// - Precondition: 1 ≤ rows ≤ 6.
    public static func avx2Strip(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                 panelStride: Int, count: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                 alpha: Float, accumulating: Bool) {
        #if arch(x86_64)
        if hasCTile {
            loom_strip_avx2(Int32(rows), k, a, lda, b, ldb, panelStride, Int32(count), c, ldc, alpha, accumulating ? 1 : 0)
            return
        }
        #endif
        for p in 0..<count {
            avx2Block(rows: rows, k, a, rowStride: lda, kStride: 1, b + p * panelStride, ldb, c + p * RegisterTile.columns, ldc,
                      alpha: alpha, accumulating: accumulating, relu: false)
        }
    }

    /// `count` 16-column panels on the AVX-512 tiles, two at a time (rows × 32) and a last odd one
    /// alone, as `avx2Strip` lays them out: one call per strip of attention instead of one per
    /// block. The same bits as `block`.
    /// - Precondition: the CPU supports AVX-512; 1 ≤ rows ≤ 8.
    public static func avx512Strip(rows: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                   panelStride: Int, count: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   alpha: Float, accumulating: Bool) {
        loom_strip_avx512(Int32(rows), k, a, lda, b, ldb, panelStride, Int32(count), c, ldc, alpha, accumulating ? 1 : 0)
    }

    /// One block of up to 6 rows × 16 columns on the AVX2 tile, as `RegisterTile.block`: the C tile
    /// (`loom_tile_avx2_16`, its loop unrolled by four with fixed row pointers, which Swift's loop
    /// could not be made to do) where `hasCTile`, else `RegisterTile` itself. The same bits.
    /// - Precondition: 1 ≤ rows ≤ 6.
    @inline(__always)
    public static func avx2Block(rows: Int, _ k: Int, _ a: UnsafePointer<Float>, rowStride: Int, kStride: Int,
                                 _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
                                 alpha: Float, accumulating: Bool, relu: Bool,
                                 mask: UnsafePointer<Float>? = nil, ldm: Int = 0) {
        #if arch(x86_64)
        if hasCTile {
            loom_tile_avx2_16(Int32(rows), k, a, rowStride, kStride, b, ldb, c, ldc, alpha, accumulating ? 1 : 0, relu ? 1 : 0, mask, ldm)
            return
        }
        #endif
        RegisterTile.block(rows: rows, k, a, rowStride: rowStride, kStride: kStride, b, ldb, c, ldc, alpha: alpha,
                           accumulating: accumulating, relu: relu, mask: mask, ldm: ldm)
    }

    /// Whether the C tile may run: a CPU with AVX2 and FMA. Only a build for an older target
    /// (`LOOM_TARGET_CPU=x86-64`) can meet one without, and it then runs `RegisterTile`.
    public static let hasCTile: Bool = loom_cpu_has_avx2_fma() != 0
}
