import Cluster
import DuoLLM
import Foundation
import Models
import Tasks
import TensorCore

/// The pieces of `loom bench oracle`: a randomly initialised duo model written as a checkpoint
/// beside a generated corpus (what `duo.oracle` workers load), and the timed evaluations.
enum OracleBenchmark {
    struct Setup {
        let corpusPath: String
        let checkpoint: URL
        let config: ModelConfig
        let batch: TrainingBatch
        let routes: RouteSet
    }

    /// Writes a seeded random corpus (lowercase words; long enough that the validation split
    /// holds many sequences) and a checkpoint of a fresh model whose every layer is a duo layer.
    static func prepare(layers: Int, width: Int, heads: Int, context: Int, batch: Int, skip: Bool,
                        in scratch: URL) throws(CommandError) -> Setup {
        var random = SeededRandom(seed: 2024)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz"), length = max(100_000, 40 * (context + 1))
        var text = ""
        text.reserveCapacity(length)
        var written = 0    // String.count walks the whole string, so count as we go
        while written < length {
            let word = 2 + Int(random.next() % 7)
            for _ in 0..<word { text.append(alphabet[Int(random.next() % 26)]) }
            text.append(random.next() % 9 == 0 ? "\n" : " ")
            written += word + 1
        }
        let corpusPath = scratch.appendingPathComponent("corpus.txt").path
        do { try text.write(toFile: corpusPath, atomically: true, encoding: .utf8) } catch {
            throw .failure("cannot write the benchmark corpus \(corpusPath): \(error.localizedDescription)")
        }
        do throws(ModelError) {
            let corpus = try CharacterCorpus.load(path: corpusPath)
            var config = ModelConfig(vocabulary: corpus.vocabulary, context: context, layers: layers, dModel: width, heads: heads)
            for l in 0..<layers { config.layers[l].duo = true }
            let routes = try RouteSet(layers: layers, skip: skip)
            let task = try CharacterCorpusTask(corpus: corpus, context: context)
            let model = try Transformer(config: config, seed: 1, maxBatch: batch, threads: 1)
            let checkpoint = scratch.appendingPathComponent("checkpoint")
            try Checkpoint.save(to: checkpoint, step: 0, config: config, parameters: model.parameters,
                                optimizer: SGD(count: model.parameters.count, momentum: 0))
            return Setup(corpusPath: corpusPath, checkpoint: checkpoint, config: config,
                         batch: task.batch(size: batch, length: context, seed: 1, step: -1), routes: routes)
        } catch { throw .usage("\(error)") }
    }

    /// Seconds of each timed in-process evaluation of the whole set on `threads` threads, with
    /// sharing and (when `direct`) without, alternated (one untimed round first) so both see the
    /// same machine drift.
    static func timeInProcess(_ setup: Setup, threads: Int, repeats: Int, direct withDirect: Bool) throws(CommandError) -> (shared: [Double], direct: [Double]) {
        var shared: [Double] = [], direct: [Double] = []
        do throws(ModelError) {
            let model = try Transformer(config: setup.config, seed: 1, maxBatch: setup.batch.size, threads: threads)
            for round in 0...repeats {
                for sharing in withDirect ? [true, false] : [true] {
                    let start = ContinuousClock.now
                    let losses = try RouteLosses.evaluate(model, batch: setup.batch, routes: setup.routes, sharing: sharing)
                    let seconds = (ContinuousClock.now - start).inSeconds
                    guard losses.values.allSatisfy(\.isFinite) else { throw ModelError.input("a route gave a non-finite loss") }
                    if round > 0 { if sharing { shared.append(seconds) } else { direct.append(seconds) } }
                }
            }
        } catch { throw .failure("the in-process evaluation failed: \(error)") }
        return (shared, direct)
    }

    /// One sample on the workers: the route set cut into `parts` contiguous slices, each a
    /// `duo.oracle` task on one thread, submitted together through a client; the wall time from
    /// submission to the last result, the longest task's own time on its worker, and the slices'
    /// `CE` files in route order.
    /// `limit` caps each slice (1: one route, what a task costs apart from its routes).
    /// `inTurn` submits each slice only after the one before it finished, so one worker runs them
    /// all: the same tasks as at once on two, for a speedup of like against like.
    /// Results are read from `coordinator` (in this process) every millisecond rather than asked
    /// of it through the client: each socket round trip woke both ends, and polling that way every
    /// 2 ms slowed the workers' own tasks by about 4 % on 2 cores.
    static func timeOnWorkers(_ setup: Setup, parts: Int, limit: Int = .max, inTurn: Bool = false,
                              client: ClusterClient, coordinator: Coordinator) throws(CommandError) -> (seconds: Double, task: Double, files: [String]) {
        let total = setup.routes.count
        var ids: [UInt64] = []
        let start = ContinuousClock.now
        for part in 0..<parts {
            let first = total * part / parts, end = first + min(total * (part + 1) / parts - first, limit)
            let params: [String: ParameterValue] = [
                "checkpoint": .string(setup.checkpoint.path), "corpus": .string(setup.corpusPath),
                "first_route": .int(first), "route_count": .int(end - first), "threads": .int(1),
                "evaluation_batch": .int(setup.batch.size), "skip_routes": .bool(setup.routes.skip),
                // The search alone, as timed in process: no fixed_context rows, no null passes.
                "reading": .string("shared_route"), "null_control": .bool(false),
            ]
            do { ids += try client.submit(kind: OracleKind.kind.name, params: params, count: 1, gang: 0, maxAttempts: 1) } catch {
                throw .failure("cannot submit duo.oracle: \(error)")
            }
            if inTurn { _ = try waitFor(ids, coordinator: coordinator) }
        }
        let results = try waitFor(ids, coordinator: coordinator)
        let seconds = (ContinuousClock.now - start).inSeconds
        var files: [String] = []
        for id in ids {
            let result = results.first { $0.taskID == id }!
            guard result.succeeded else { throw .failure("duo.oracle failed on \(result.worker): \(result.error)") }
            guard let file = result.artifacts.first(where: { $0.hasSuffix(".npy") }) else { throw .failure("duo.oracle returned no CE file") }
            files.append(file)
        }
        let taskTimes = results.map(\.seconds)
        return (seconds, inTurn ? taskTimes.reduce(0, +) : taskTimes.max() ?? .nan, files)
    }

    /// The results of `ids`, once all have finished (an hour at most).
    private static func waitFor(_ ids: [UInt64], coordinator: Coordinator) throws(CommandError) -> [TaskResult] {
        let deadline = ContinuousClock.now + .seconds(3600)
        var results: [TaskResult] = []
        while results.count < ids.count {
            guard ContinuousClock.now < deadline else { throw .failure("duo.oracle did not finish within an hour") }
            results = coordinator.results(for: ids)
            if results.count < ids.count { Thread.sleep(forTimeInterval: 0.001) }
        }
        return results
    }

    /// The rows of the slices' files in order, and removes the scratch folders the workers wrote
    /// them in.
    static func collect(_ files: [String]) throws(CommandError) -> [Float] {
        var values: [Float] = []
        for file in files {
            do { values += try Tensor(contentsOfNPYFile: file).storage } catch { throw .failure("cannot read \(file): \(error)") }
            TaskScratch.release([file])
        }
        return values
    }
}
