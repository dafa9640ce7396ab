import Tasks

// The parameters of the runtime's own kinds (BuiltInKinds.swift), one type each.

/// The longest wait a kind's parameter may ask for: a year. Its milliseconds must fit `Int64`,
/// or a submitted `seconds: 1e300` would stop the worker that converts it.
private let longestWait: Double = 365 * 24 * 3600

struct AppendParameters: TaskParameters {
    static let declaration = [ParameterSpec("path", .string, "the file to append to"),
                              ParameterSpec("line", .string, default: .string(""), "the text of the line"),
                              ParameterSpec("seconds", .double, default: .double(0), "how long to wait afterwards", minimum: 0, maximum: longestWait)]
    let path: String, line: String, seconds: Double
    init(_ values: ResolvedParameters) {
        path = values.string("path"); line = values.string("line"); seconds = values.double("seconds")
    }
}

struct SleepParameters: TaskParameters {
    static let declaration = [ParameterSpec("seconds", .double, default: .double(1), "how long to wait", minimum: 0, maximum: longestWait)]
    let seconds: Double
    init(_ values: ResolvedParameters) { seconds = values.double("seconds") }
}

struct StepsParameters: TaskParameters {
    static let declaration = [ParameterSpec("steps", .int, default: .int(10), "how many steps", minimum: 1, maximum: 1_000_000),
                              ParameterSpec("seconds", .double, default: .double(0.1), "how long each step takes", minimum: 0, maximum: longestWait)]
    let steps: Int, seconds: Double
    init(_ values: ResolvedParameters) { steps = values.int("steps"); seconds = values.double("seconds") }
}

struct EchoParameters: TaskParameters {
    static let declaration = [ParameterSpec("value", .string, default: .string(""), "the value to return")]
    let value: String
    init(_ values: ResolvedParameters) { value = values.string("value") }
}

struct FailParameters: TaskParameters {
    static let declaration = [
        ParameterSpec("probability", .double, default: .double(1), "chance of failing, 0…1", minimum: 0, maximum: 1),
        ParameterSpec("seed", .int, default: .int(0), "seed for the draw (with the task id and attempt)"),
    ]
    let probability: Double, seed: Int
    init(_ values: ResolvedParameters) { probability = values.double("probability"); seed = values.int("seed") }
}

struct ArtifactParameters: TaskParameters {
    static let declaration = [ParameterSpec("path", .string, "the file to write"),
                              ParameterSpec("bytes", .int, default: .int(4096), "its size", minimum: 0, maximum: 67_108_864),
                              ParameterSpec("seed", .int, default: .int(0), "seed of its bytes"),
                              ParameterSpec("in_scratch", .bool, default: .bool(false),
                                            "path is a file name inside a fresh task scratch folder (TaskScratch)"),
                              ParameterSpec("write", .bool, default: .bool(true),
                                            "false: report path without writing it, as a file on another machine")]
    let path: String, bytes: Int, seed: Int, inScratch: Bool, writes: Bool
    init(_ values: ResolvedParameters) {
        path = values.string("path"); bytes = values.int("bytes"); seed = values.int("seed"); inScratch = values.bool("in_scratch")
        writes = values.bool("write")
    }
}

struct CrashParameters: TaskParameters {
    static let declaration = [ParameterSpec("after", .double, default: .double(0), "seconds to run before dying", minimum: 0, maximum: longestWait)]
    let after: Double
    init(_ values: ResolvedParameters) { after = values.double("after") }
}

struct GEMMParameters: TaskParameters {
    static let declaration = [ParameterSpec("n", .int, default: .int(1024), "matrix size"),
                              ParameterSpec("threads", .int, default: .int(1), "OpenBLAS threads"),
                              ParameterSpec("repeat", .int, default: .int(3), "products to time (the median is kept)")]
    let n: Int, threads: Int, repeats: Int
    init(_ values: ResolvedParameters) { n = values.int("n"); threads = values.int("threads"); repeats = values.int("repeat") }

    func check(gangSize: Int) throws(ParameterProblem) {
        guard n >= 1, n <= 16384, threads >= 1, repeats >= 1 else {
            throw ParameterProblem("gemm needs 1 ≤ n ≤ 16384, threads ≥ 1, repeat ≥ 1")
        }
    }
}

struct GangBarrierParameters: TaskParameters {
    static let declaration = [ParameterSpec("rounds", .int, default: .int(3), "barriers to pass"),
                              ParameterSpec("pause", .double, default: .double(0), "seconds between barriers", minimum: 0, maximum: longestWait),
                              ParameterSpec("topology", .string, default: .string("mesh"), "mesh or ring", choices: ["mesh", "ring"])]
    let rounds: Int, pause: Double, topology: String
    init(_ values: ResolvedParameters) {
        rounds = values.int("rounds"); pause = values.double("pause"); topology = values.string("topology")
    }
}

struct GangRingSumParameters: TaskParameters {
    static let declaration = [ParameterSpec("elements", .int, default: .int(1 << 20), "floats per tensor"),
                              ParameterSpec("frames", .bool, default: .bool(false), "send plain frames even between ranks on one host"),
                              ParameterSpec("topology", .string, default: .string("ring"), "ring (the kind needs only neighbours)")]
    let elements: Int, frames: Bool, topology: String
    init(_ values: ResolvedParameters) {
        elements = values.int("elements"); frames = values.bool("frames"); topology = values.string("topology")
    }

    func check(gangSize: Int) throws(ParameterProblem) {
        guard elements >= 1, elements <= 1 << 28 else { throw ParameterProblem("gang.ringsum needs 1 ≤ elements ≤ 2^28") }
    }
}
