// swift-tools-version:6.0
import PackageDescription
import Foundation

// Loom's hot loops are Swift SIMD code: Swift's default x86-64 target is SSE2, which turns
// SIMD16<Float> into four xmm ops and `addingProduct` into a libm call per lane.
// LOOM_TARGET_CPU picks the target. The default on x86-64 is the portable `haswell` (AVX2 +
// FMA, the x86-64-v3 level, which swiftc does not take by that name: every EPYC, Haswell and
// later), so one build runs on every node of a mixed cluster; the
// products' AVX-512 tile is chosen at run time (CKernels, TileKernel). `native` compiles the
// Swift code for the build machine alone.
#if arch(x86_64)
let defaultTargetCPU = "haswell"
#else
let defaultTargetCPU = "native"
#endif
let targetCPU = ProcessInfo.processInfo.environment["LOOM_TARGET_CPU"] ?? defaultTargetCPU

// Swift has no `#if` for CPU features, so the manifest tells the code which vector extension the
// target has (for benchmark headers): from /proc/cpuinfo for `native`, from the level otherwise.
func simdDefine(_ cpu: String) -> String {
    switch cpu {
    case "x86-64-v4": return "LOOM_SIMD_AVX512"
    case "x86-64-v3", "haswell", "znver2", "znver3": return "LOOM_SIMD_AVX2"
    case "native":
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        if info.contains(" avx512f") { return "LOOM_SIMD_AVX512" }
        if info.contains(" avx2") { return "LOOM_SIMD_AVX2" }
        return "LOOM_SIMD_BASE"
    default: return "LOOM_SIMD_BASE"
    }
}
let cpuSettings: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", targetCPU]),
    .define(simdDefine(targetCPU)),
]
let fastSwift: [SwiftSetting] = cpuSettings + [.unsafeFlags(["-Ounchecked", "-enforce-exclusivity=unchecked"])]
let portableSwift: [SwiftSetting] = cpuSettings
// The simulator's event loop is single-threaded and spent a tenth of its time in dynamic
// exclusivity checks on its state; bounds checks stay (it reads user files).
let simulatorSwift: [SwiftSetting] = cpuSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "Loom",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "loom", targets: ["LoomCLI"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "Attention", targets: ["Attention"]),
    ],
    targets: [
        // C libraries from Debian, one system-library target each (see PLATFORM notes in docs).
        // libzmq's pkg-config file drags in a prohibited -isystem flag; its header and library
        // are on the default paths, so CZeroMQ goes without pkgConfig.
        // Linux calls Swift's Glibc module lacks (mallopt, eventfd, memfd_create), for Wire.
        .systemLibrary(name: "CSystem", path: "Sources/CSystem"),
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ",
                       providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CGraphviz", path: "Sources/CGraphviz", pkgConfig: "libgvc",
                       providers: [.apt(["libgraphviz-dev"])]),
        .systemLibrary(name: "CYAML", path: "Sources/CYAML", pkgConfig: "yaml-0.1",
                       providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),

        // Register tiles and small-T attention for vector units the build target may not assume
        // (AVX-512), each with its own target attribute and run only after a CPU check
        // (TileKernel). Optimised in debug builds too, so tests run them at speed; no contraction
        // of a multiply and an add into an FMA, so the bits match the Swift path's.
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O2", "-ffp-contract=off"])]),
        .target(name: "TensorCore", dependencies: ["CBLAS", "CKernels"], swiftSettings: fastSwift),
        .target(name: "Attention", dependencies: ["TensorCore"], swiftSettings: fastSwift),
        // The vocabulary every study and the runtime share (parameter values and specs, metrics,
        // name suggestions): Foundation only, so files, stores and reports need no network stack.
        .target(name: "Tasks", swiftSettings: portableSwift),
        .target(name: "Wire", dependencies: ["CZeroMQ", "CSystem", "TensorCore"], swiftSettings: portableSwift),
        .target(name: "Cluster", dependencies: ["Tasks", "Wire", "TensorCore"], swiftSettings: portableSwift),
        // Starting workers on other hosts (issue: cluster/ launchers): hostfiles and remote command lines.
        .target(name: "Launch", dependencies: ["CSystem"], swiftSettings: portableSwift),
        .target(name: "Simulator", dependencies: ["SequenceParallel", "Experiments", "Tasks", "TensorCore"], swiftSettings: simulatorSwift),
        .target(name: "Notebooks", dependencies: ["Experiments", "Reports", "Tasks"], swiftSettings: portableSwift),
        .target(name: "SequenceParallel", dependencies: ["Attention", "Cluster", "Tasks", "TensorCore", "Wire"],
                swiftSettings: portableSwift),
        // Experiment files, sweeps and the results store: checked against task declarations
        // (Tasks), so reading files and stores needs no network stack.
        .target(name: "Experiments", dependencies: ["CYAML", "CSQLite", "Tasks", "TensorCore"], swiftSettings: portableSwift),
        // Runs an experiment's plan on the cluster and stores each result as it arrives.
        .target(name: "Runner", dependencies: ["Experiments", "Cluster", "Tasks"], swiftSettings: portableSwift),
        .target(name: "Reports", dependencies: ["CGraphviz", "Experiments", "Tasks"], swiftSettings: portableSwift),
        .target(name: "Models", dependencies: ["TensorCore", "Attention", "Tasks"], swiftSettings: fastSwift),
        .target(name: "Mechanisms", dependencies: ["Models", "Tasks", "TensorCore"], swiftSettings: portableSwift),
        // The active-dormant study: the train.bb kind, its parameters, the training session, the
        // analysis after training and the mechanism graphs (Mechanisms holds the measurements).
        .target(name: "ActiveDormant", dependencies: ["Cluster", "Tasks", "Models", "Mechanisms", "Reports", "TensorCore"],
                swiftSettings: portableSwift),
        // The Duo-LLM study: the train.duo and duo.oracle kinds, the route set, CE[r, t] and the oracle.
        .target(name: "DuoLLM", dependencies: ["Cluster", "Tasks", "Models", "Reports", "TensorCore"], swiftSettings: portableSwift),
        // The Octopus study: graphs of models (a master routing to specialist workers), their
        // files and drawings, the synthetic domains and the strict parse of the master's output.
        .target(name: "Octopus", dependencies: ["Cluster", "Experiments", "Models", "Reports", "Tasks", "TensorCore"],
                swiftSettings: portableSwift),
        .executableTarget(
            name: "LoomCLI",
            dependencies: ["TensorCore", "Attention", "Tasks", "Wire", "Cluster", "SequenceParallel", "Experiments", "Runner", "Reports", "Models",
                           "Mechanisms", "ActiveDormant", "DuoLLM", "Octopus", "Launch", "Notebooks", "Simulator"],
            swiftSettings: portableSwift,
            plugins: ["BuildInfo"]),
        // Writes the git commit into LoomCLI before each build (`loom version`, benchmark headers).
        .plugin(name: "BuildInfo", capability: .buildTool(), path: "Plugins/BuildInfo"),

        // Test support in three layers, so a test target links only what it uses: the float64
        // references need no sockets, and a temporary directory needs no Loom module at all.
        // Float64 references, error metrics and the seeded test generator.
        .target(name: "NumericTestSupport", dependencies: ["TensorCore", "Attention"],
                swiftSettings: portableSwift),
        // The transformer's forward pass in float64 loops, the reference model tests check against.
        .target(name: "ModelTestSupport", dependencies: ["Models"], swiftSettings: portableSwift),
        // Runs the built `loom` as a child with a deadline (also as another user); temporary directories.
        .target(name: "ProcessTestSupport", swiftSettings: portableSwift),
        // A coordinator in the test process with real `loom worker` children.
        .target(name: "ClusterTestSupport", dependencies: ["Cluster", "ProcessTestSupport"],
                swiftSettings: portableSwift),
        // Test targets that run `loom` depend on LoomCLI, so building the tests builds the executable
        // that `LoomProcess` finds next to the test binary.
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "NumericTestSupport"],
                    swiftSettings: portableSwift),
        .testTarget(name: "AttentionTests",
                    dependencies: ["Attention", "TensorCore", "NumericTestSupport"],
                    swiftSettings: portableSwift),
        .testTarget(name: "TasksTests", dependencies: ["Tasks"], swiftSettings: portableSwift),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TensorCore"], swiftSettings: portableSwift),
        .testTarget(name: "LaunchTests", dependencies: ["Launch", "ProcessTestSupport"], swiftSettings: portableSwift),
        .testTarget(name: "SimulatorTests", dependencies: ["Simulator", "SequenceParallel"], swiftSettings: portableSwift),
        .testTarget(name: "NotebooksTests", dependencies: ["Notebooks", "Experiments", "Reports", "Tasks", "ProcessTestSupport"],
                    swiftSettings: portableSwift),
        .testTarget(name: "ClusterTests",
                    dependencies: ["Cluster", "Tasks", "Wire", "TensorCore", "ProcessTestSupport", "ClusterTestSupport",
                                   "LoomCLI"],
                    swiftSettings: portableSwift),
        .testTarget(name: "SequenceParallelTests",
                    dependencies: ["SequenceParallel", "Cluster", "Tasks", "Attention", "TensorCore", "ClusterTestSupport", "ProcessTestSupport",
                                   "LoomCLI"],
                    swiftSettings: portableSwift),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Runner", "Cluster", "Tasks", "ProcessTestSupport"],
                    swiftSettings: portableSwift),
        .testTarget(name: "ReportsTests",
                    dependencies: ["Reports", "Experiments", "Tasks", "ActiveDormant", "ProcessTestSupport", "LoomCLI"],
                    swiftSettings: portableSwift),
        .testTarget(name: "ModelsTests",
                    dependencies: ["Models", "TensorCore", "Attention", "NumericTestSupport", "ModelTestSupport", "ProcessTestSupport"],
                    swiftSettings: portableSwift),
        .testTarget(name: "DuoLLMTests",
                    dependencies: ["DuoLLM", "Models", "Tasks", "TensorCore", "Experiments", "NumericTestSupport", "ModelTestSupport", "ProcessTestSupport",
                                   "LoomCLI"],
                    swiftSettings: portableSwift),
        .testTarget(name: "OctopusTests",
                    dependencies: ["Octopus", "Cluster", "Experiments", "Models", "Reports", "Tasks", "TensorCore", "ProcessTestSupport", "ClusterTestSupport", "LoomCLI"],
                    swiftSettings: portableSwift),
        .testTarget(name: "MechanismsTests", dependencies: ["Mechanisms", "Models"],
                    swiftSettings: portableSwift),
        .testTarget(name: "LoomCLITests",
                    dependencies: ["TensorCore", "Attention", "Experiments", "ProcessTestSupport", "LoomCLI"],
                    swiftSettings: portableSwift),
    ],
    swiftLanguageModes: [.v6]
)
