import Foundation
import ProcessTestSupport
import TensorCore
import Wire
import Testing

/// The register tile chosen at run time, through the built `loom`: named by `loom version`,
/// forced by `LOOM_KERNEL` (a kernel the CPU lacks is an error before any work), giving the same
/// bits whichever kernel runs, and the only place the binary holds AVX-512 instructions.
@Suite struct TileKernelCommandTests {
    @Test func versionNamesTheBuildTargetAndTheKernel() throws {
        let outcome = try LoomProcess.run(["version"])
        try #require(outcome.status == 0, "\(outcome)")
        #expect(outcome.standardOutput.contains("tile \(TileKernel.active)"), "\(outcome)")
        // The CPU line names the family and model, and the widest vector extension the flags list.
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let vector = flags.contains("avx512f") ? "AVX-512F)" : flags.contains("avx2") ? "AVX2+FMA)" : "no AVX2)"
        let cpuLine = outcome.standardOutput.split(separator: "\n").first { $0.hasPrefix("CPU ") }.map(String.init) ?? ""
        #expect(cpuLine.contains("family ") && cpuLine.contains(" model ") && cpuLine.contains(vector)
                && cpuLine.contains(", \(Parallel.activeCores) core"), "\(outcome)")
        for kernel in TileKernel.supported {
            let forced = try LoomProcess.run(["version"], environment: environment(kernel: kernel.rawValue))
            #expect(forced.status == 0 && forced.standardOutput.contains("tile \(kernel)"), "\(forced)")
        }
    }

    /// Confined to one CPU (as by a Slurm or container cpuset), loom counts the one core it may
    /// use, not the machine's online cores, and sizes its threads by it.
    @Test func oneAllowedCPUIsOneCore() throws {
        let taskset = URL(fileURLWithPath: "/usr/bin/taskset")
        try #require(FileManager.default.isExecutableFile(atPath: taskset.path), "taskset (util-linux) is missing")
        let cpu = try #require(CorePinning.allowedCPUs().last)
        let outcome = try LoomProcess.run(["-c", "\(cpu)", try LoomProcess.executable().path, "version"], program: taskset)
        try #require(outcome.status == 0, "\(outcome)")
        let cpuLine = outcome.standardOutput.split(separator: "\n").first { $0.hasPrefix("CPU ") }.map(String.init) ?? ""
        let online = ProcessInfo.processInfo.activeProcessorCount
        #expect(cpuLine.hasSuffix(online > 1 ? ", 1 core allowed of \(online) online" : ", 1 core"), "\(outcome)")
    }

    /// In a cgroup whose CPU quota is one CPU's time (`docker --cpus=1`), loom counts one core,
    /// though its affinity mask has them all. Needs a writable cgroup v1 cpu controller (root, as
    /// on the machines CI runs on); the process joins the cgroup itself, then becomes loom.
    @Test(.enabled(if: FileManager.default.isWritableFile(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")))
    func aOneCPUQuotaIsOneCore() throws {
        let group = "/sys/fs/cgroup/cpu/loom-quota-\(getpid())"
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: false)
        defer { rmdir(group) }
        try "100000".write(toFile: group + "/cpu.cfs_period_us", atomically: false, encoding: .utf8)
        try "100000".write(toFile: group + "/cpu.cfs_quota_us", atomically: false, encoding: .utf8)
        let join = "import os, sys; open(sys.argv[1], 'w').write(str(os.getpid())); os.execv(sys.argv[2], sys.argv[2:])"
        let loom = try LoomProcess.executable().path
        let python = try #require((ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
            .map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }, "python3 is not on PATH")
        let outcome = try LoomProcess.run(["-c", join, group + "/cgroup.procs", loom, "version"], program: URL(fileURLWithPath: python))
        try #require(outcome.status == 0, "\(outcome)")
        let cpuLine = outcome.standardOutput.split(separator: "\n").first { $0.hasPrefix("CPU ") }.map(String.init) ?? ""
        let online = ProcessInfo.processInfo.activeProcessorCount
        #expect(cpuLine.hasSuffix(online > 1 ? ", 1 core allowed of \(online) online" : ", 1 core"), "\(outcome)")
    }

    @Test func aKernelThisCPULacksOrAnUnknownOneExitsTwoWithTheFix() throws {
        var values = ["sse9"]
        if !TileKernel.avx512.isSupported { values.append("avx512") }
        for value in values {
            let outcome = try LoomProcess.run(["version"], environment: environment(kernel: value))
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.standardError.contains("LOOM_KERNEL=\(value)") && outcome.standardError.contains("auto"), "\(outcome)")
            #expect(outcome.standardOutput.isEmpty, "\(outcome)")
        }
    }

    /// `loom attention` forward and backward at d = 64 (several panels per product, so AVX-512
    /// takes pairs and an odd one), causal and not, on every kernel this CPU supports: the same
    /// bytes. On one thread: with two, dq's partial sums depend on which worker took which item.
    @Test(arguments: [true, false])
    func attentionGivesTheSameBitsOnEveryKernel(causal: Bool) throws {
        let directory = try TemporaryDirectory()
        let (n, heads, d) = (100, 2, 64)
        for (index, name) in ["q", "k", "v", "dout"].enumerated() {
            let values = LoomCLITests.normals(count: n * heads * d, seed: 40 + UInt64(index))
            try NPYTestFile.write(values, shape: [n, heads, d], to: directory.path("\(name).npy"), asFloat32: true)
        }
        let mask = causal ? ["--causal"] : []
        var outputs: [String: [Data]] = [:]
        for kernel in TileKernel.supported {
            let prefix = directory.path(kernel.rawValue)
            let forward = try LoomProcess.run(["attention", "--q", directory.path("q.npy"), "--k", directory.path("k.npy"),
                                               "--v", directory.path("v.npy"), "--out", prefix + "-out.npy", "--threads", "1"] + mask,
                                              environment: environment(kernel: kernel.rawValue))
            try #require(forward.status == 0, "\(forward)")
            let backward = try LoomProcess.run(["attention", "--backward", "--q", directory.path("q.npy"),
                                                "--k", directory.path("k.npy"), "--v", directory.path("v.npy"),
                                                "--dout", directory.path("dout.npy"), "--dq", prefix + "-dq.npy",
                                                "--dk", prefix + "-dk.npy", "--dv", prefix + "-dv.npy", "--threads", "1"] + mask,
                                               environment: environment(kernel: kernel.rawValue))
            try #require(backward.status == 0, "\(backward)")
            outputs[kernel.rawValue] = try ["out", "dq", "dk", "dv"].map { try Data(contentsOf: URL(fileURLWithPath: prefix + "-\($0).npy")) }
        }
        let first = outputs[TileKernel.supported[0].rawValue]!
        #expect(first.allSatisfy { $0.count > 128 * 4 })
        for kernel in TileKernel.supported.dropFirst() {
            #expect(outputs[kernel.rawValue]! == first, "\(kernel) gave other bits than \(TileKernel.supported[0])")
        }
    }

    /// qemu's user-mode emulator, which runs x86-64 binaries on a chosen CPU model (`make deps`
    /// installs it); its `Haswell` has AVX2 and FMA and no AVX-512 at all.
    static let qemu = "/usr/bin/qemu-x86_64"

    /// The default build on an AVX2-only CPU, emulated: it picks the AVX2 tile, refuses a forced
    /// AVX-512 one, and its attention (forward and backward) gives the same bits as this machine's
    /// own run. Any AVX-512 instruction reached there would stop it with SIGILL.
    /// Not in `make test`'s second pass with LOOM_KERNEL forced: the emulated run is the same there.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: qemu)
                   && ProcessInfo.processInfo.environment[TileKernel.environmentVariable] == nil))
    func onAnEmulatedAVX2OnlyCPUItRunsTheAVX2TileWithTheSameBits() throws {
        let loom = try LoomProcess.executable().path, qemu = URL(fileURLWithPath: Self.qemu)
        func emulated(_ arguments: [String], kernel: String? = nil) throws -> LoomProcess.Outcome {
            var environment = ProcessInfo.processInfo.environment
            environment[TileKernel.environmentVariable] = kernel
            return try LoomProcess.run(["-cpu", "Haswell", loom] + arguments, deadline: .seconds(300), program: qemu,
                                       environment: environment)
        }
        let version = try emulated(["version"])
        #expect(version.status == 0 && version.standardOutput.contains("tile \(TileKernel.avx2)"), "\(version)")
        let forced = try emulated(["version"], kernel: "avx512")
        #expect(forced.status == 2 && forced.standardError.contains("has no AVX-512F"), "\(forced)")

        let directory = try TemporaryDirectory()
        let (n, heads, d) = (100, 2, 64)
        for (index, name) in ["q", "k", "v", "dout"].enumerated() {
            let values = LoomCLITests.normals(count: n * heads * d, seed: 70 + UInt64(index))
            try NPYTestFile.write(values, shape: [n, heads, d], to: directory.path("\(name).npy"), asFloat32: true)
        }
        func attention(_ prefix: String) -> [String] {
            ["attention", "--backward", "--causal", "--threads", "1", "--q", directory.path("q.npy"), "--k", directory.path("k.npy"),
             "--v", directory.path("v.npy"), "--dout", directory.path("dout.npy"), "--dq", directory.path(prefix + "-dq.npy"),
             "--dk", directory.path(prefix + "-dk.npy"), "--dv", directory.path(prefix + "-dv.npy")]
        }
        let there = try emulated(attention("emulated"))
        try #require(there.status == 0, "\(there)")
        let here = try LoomProcess.run(attention("native"))
        try #require(here.status == 0, "\(here)")
        for name in ["dq", "dk", "dv"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: directory.path("emulated-\(name).npy")))
            let b = try Data(contentsOf: URL(fileURLWithPath: directory.path("native-\(name).npy")))
            #expect(a == b && a.count > 1_000, "\(name) differs between the emulated AVX2-only CPU and this one")
        }

        // A few training steps at head width 16: the fused attention on AVX2 there, on this
        // machine's widest kernel here. The losses and risks after them hold every gradient's bits.
        let train = ["train", "--layers", "1", "--d-model", "32", "--heads", "2", "--context", "32", "--batch", "4", "--steps", "4",
                     "--evaluate-every", "2", "--threads", "1", "--probes", "false", "--json"]
        func measured(_ outcome: LoomProcess.Outcome) -> [String] {
            outcome.standardOutput.split(separator: "\n").map { line in
                line.split(separator: ",").filter { !$0.contains("tokens_per_s") }.joined(separator: ",")
            }
        }
        let trainedThere = try emulated(train)
        try #require(trainedThere.status == 0, "\(trainedThere)")
        let trainedHere = try LoomProcess.run(train)
        try #require(trainedHere.status == 0, "\(trainedHere)")
        #expect(measured(trainedThere).count == 3 && measured(trainedThere) == measured(trainedHere),
                "training differs between the emulated AVX2-only CPU and this one:\n\(trainedThere.standardOutput)\n\(trainedHere.standardOutput)")
    }

    /// Every EVEX-encoded instruction (AVX-512: first byte 0x62 in 64-bit code) in the `loom`
    /// binary lies inside the dispatched kernels, which run only after the CPU check; so a build
    /// with the default settings never reaches one on an AVX2-only CPU. Shared libraries (the Swift
    /// runtime, glibc, OpenBLAS) do their own dispatch and are not part of the binary.
    @Test func avx512InstructionsLieOnlyInTheDispatchedKernels() throws {
        let objdump = ["/usr/bin/objdump", "/bin/objdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let tool = try #require(objdump, "objdump (binutils, installed with the toolchain) is needed to read the binary")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-d", "--no-addresses", try LoomProcess.executable().path]
        let output = try TemporaryDirectory()
        let listing = output.url.appendingPathComponent("loom.s")
        _ = FileManager.default.createFile(atPath: listing.path, contents: nil)
        let handle = try FileHandle(forWritingTo: listing)
        process.standardOutput = handle
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try handle.close()
        try #require(process.terminationStatus == 0, "objdump failed")
        var function = "", evexByFunction: [String: Int] = [:], instructions = 0
        let text = try String(contentsOf: listing, encoding: .utf8)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("<") && line.hasSuffix(">:") { function = String(line.dropFirst().dropLast(2)); continue }
            // "\t62 f1 7c 48 ...\tvmovups ...": the raw bytes are the first tab-separated field.
            let fields = line.split(separator: "\t", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { continue }
            instructions += 1
            if fields[0].trimmingCharacters(in: .whitespaces).hasPrefix("62 ") { evexByFunction[function, default: 0] += 1 }
        }
        #expect(instructions > 100_000, "the listing of loom looks truncated: \(instructions) instructions")
        // The entry points of CKernels that run only after the CPU check (loom_kernels.h).
        let dispatched: Set = ["loom_tile_avx512_32", "loom_tile_avx512_16", "loom_strip_avx512", "loom_column_avx512",
                               "loom_causal_attention_avx512",
                               "loom_causal_attention_backward_avx512", "loom_softmax_row_avx512",
                               "loom_row_maximum_avx512", "loom_row_exponentiate_avx512"]
        let outside = evexByFunction.filter { !dispatched.contains($0.key) }
        #expect(outside.isEmpty, "AVX-512 instructions outside the dispatched kernels: \(outside)")
        #if arch(x86_64)
        #expect(evexByFunction.keys.contains("loom_tile_avx512_32"), "the AVX-512 kernel is missing from the binary")
        #endif
    }

    func environment(kernel: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[TileKernel.environmentVariable] = kernel
        return environment
    }
}
