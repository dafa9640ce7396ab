import Foundation
import SequenceParallel

/// What `loom sim validate` measured, as `--save` writes it and `--from` reads it back: the
/// calibration and every case's measurements, so a changed model is judged on the same runs.
///
/// The file is JSON, version 1. Numbers are written with every digit, so a prediction from the
/// file equals the one made right after measuring.
struct SimValidateRecord {
    static let version = 1
    /// Bounds on what a file may hold, checked before anything is allocated for it.
    static let maximumCases = 100_000, maximumBytes = 256 << 20, maximumSteps = 1024, maximumText = 1000

    /// One block shape's attention rates (useful FLOP/s, one thread), full and causal.
    struct Rate {
        var tokens: Int, heads: Int, keyHeads: Int, full: Double, causal: Double
        /// Ranks (more than the cores) → the fraction of a fair share that many blocks get at once.
        var sharing: [Int: Double] = [:]
        /// Bytes/s of the merges of partial results of this shape (`ScheduleReplay`'s merge family,
        /// 12 bytes per element); nil in files saved before it was measured.
        var merge: Double? = nil
    }

    struct Calibration {
        var host: String, cpuModel: String, commit: String, build: String, date: String, cores: Int
        /// α (seconds) and β (GB/s) of the local transport.
        var latency: Double, bandwidthGBps: Double
        var heads: Int, headDimension: Int
        var rates: [Rate]
        /// GB/s at which a transfer occupies its sender's and its receiver's cores
        /// (`SimCalibrateCommand.hostCopyRate`); nil in files saved before it was measured.
        var copyGBps: Double? = nil

        func rate(tokens: Int, heads: Int, keyHeads: Int) -> Rate? {
            rates.first { $0.tokens == tokens && $0.heads == heads && $0.keyHeads == keyHeads }
        }
    }

    /// One rank's step as its timeline reports it (seconds).
    struct Step { var start: Double, send: Double, compute: Double, wait: Double }

    struct Case {
        var algorithm: SequenceParallelKinds.Algorithm, workers: Int, tokens: Int, isCausal: Bool, keyHeads: Int
        /// nil: unthrottled (the calibrated β).
        var linkGbps: Double?
        /// usp's ranks per Ulysses group; nil for the other algorithms.
        var ulyssesDegree: Int?
        /// The slowest rank's wall time.
        var wallSeconds: Double
        /// Rank 0's time in each step (send, compute and wait).
        var rankZeroSteps: [Double]
        /// Every rank's steps (rank × step); empty when not recorded.
        var rankSteps: [[Step]]
        /// Ran with `pin_cores` (rank r on core r mod C); false in files saved before pinning.
        var pinned = false
        /// Its block shape's rates, timed just before its group of cases ran; nil: the calibration's.
        var rate: Rate? = nil

        var setting: ShardedBenchmark.Case {
            ShardedBenchmark.Case(algorithm: algorithm, workers: workers, tokens: tokens, isCausal: isCausal, linkGbps: linkGbps)
        }
    }

    var calibration: Calibration
    var cases: [Case]

    var json: JSONValue {
        let c = calibration
        return .object([
            ("format", .string("loom-sim-validate")), ("version", .integer(Self.version)),
            ("calibration", .object([
                ("host", .string(c.host)), ("cpu", .string(c.cpuModel)), ("commit", .string(c.commit)), ("build", .string(c.build)),
                ("date", .string(c.date)), ("cores", .integer(c.cores)), ("latency_s", .exactNumber(c.latency)),
                ("bandwidth_gbps", .exactNumber(c.bandwidthGBps)), ("copy_gbps", c.copyGBps.map { .exactNumber($0) } ?? .null),
                ("heads", .integer(c.heads)), ("head_dim", .integer(c.headDimension)),
                ("rates", .array(c.rates.map(Self.json))),
            ])),
            ("cases", .array(cases.map { item in
                .object([
                    ("algorithm", .string(item.algorithm.rawValue)), ("workers", .integer(item.workers)), ("tokens", .integer(item.tokens)),
                    ("causal", .bool(item.isCausal)), ("kv_heads", .integer(item.keyHeads)),
                    ("link_gbps", item.linkGbps.map { .exactNumber($0) } ?? .null),
                    ("ulysses_degree", item.ulyssesDegree.map { .integer($0) } ?? .null),
                    ("pinned", .bool(item.pinned)), ("rate", item.rate.map(Self.json) ?? .null), ("measured_s", .exactNumber(item.wallSeconds)),
                    ("rank0_steps_s", .array(item.rankZeroSteps.map { .exactNumber($0) })),
                    ("ranks", .array(item.rankSteps.map { steps in
                        .array(steps.map {
                            .object([("start_s", .exactNumber($0.start)), ("send_s", .exactNumber($0.send)),
                                     ("compute_s", .exactNumber($0.compute)), ("wait_s", .exactNumber($0.wait))])
                        })
                    })),
                ])
            })),
        ])
    }

    static func json(_ rate: Rate) -> JSONValue {
        .object([("tokens", .integer(rate.tokens)), ("heads", .integer(rate.heads)), ("kv_heads", .integer(rate.keyHeads)),
                 ("full_flops_per_s", .exactNumber(rate.full)), ("causal_flops_per_s", .exactNumber(rate.causal)),
                 ("sharing", .array(rate.sharing.sorted { $0.key < $1.key }.map {
                     .object([("ranks", .integer($0.key)), ("efficiency", .exactNumber($0.value))])
                 })), ("merge_bytes_per_s", rate.merge.map { .exactNumber($0) } ?? .null)])
    }

    func write(to path: String) throws(CommandError) {
        do { try (json.rendered() + "\n").write(toFile: path, atomically: true, encoding: .utf8) } catch {
            throw .failure("--save \(path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads and checks a file `--save` wrote.
    /// - Throws: `CommandError.usage` naming the file and the field for anything missing, of the
    ///   wrong type or out of range, a file over `maximumBytes` or a version this loom does not read.
    static func read(_ path: String) throws(CommandError) -> SimValidateRecord {
        let url = URL(fileURLWithPath: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        guard let size else { throw .usage("--from \(path): no such file") }
        guard size <= maximumBytes else { throw .usage("\(path): \(size) bytes; a validation file is at most \(maximumBytes >> 20) MiB") }
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .usage("\(path): cannot read: \(error.localizedDescription)") }
        do { return try JSONDecoder().decode(SimValidateRecord.self, from: data) } catch let error as DecodingError {
            throw .usage("\(path): \(describe(error))")
        } catch { throw .usage("\(path): \(error)") }
    }

    /// The field (`cases[3].workers`) and what is wrong with it.
    private static func describe(_ error: DecodingError) -> String {
        func place(_ path: [any CodingKey]) -> String {
            path.reduce("") { text, key in key.intValue.map { text + "[\($0)]" } ?? (text.isEmpty ? key.stringValue : text + "." + key.stringValue) }
        }
        switch error {
        case let .typeMismatch(type, context):
            return "\(place(context.codingPath)): expected \(type == Double.self ? "a number" : type == Int.self ? "a whole number" : type == Bool.self ? "true or false" : type == String.self ? "a string" : "\(type)"); \(context.debugDescription)"
        case let .valueNotFound(_, context): return "\(place(context.codingPath)): missing (null)"
        case let .keyNotFound(key, context): return "\(place(context.codingPath + [key])): missing"
        case let .dataCorrupted(context):
            if context.codingPath.isEmpty {
                return "not valid JSON (truncated?): \((context.underlyingError as? NSError)?.localizedDescription ?? context.debugDescription)"
            }
            return "\(place(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
