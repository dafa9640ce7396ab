import Foundation
import Synchronization

/// The models a worker process keeps loaded between tasks: a checkpoint is loaded the first time a
/// task needs it and then stays resident, so the next task on it (an Octopus query, another slice
/// of a routing oracle) costs its own work, not a load. Keyed by checkpoint directory, its
/// manifest's modification time (a retrained model is loaded again), the batch the model is built
/// for and its threads. A model runs one task at a time; at most `capacity` stay loaded (the least
/// recently used goes first).
public final class ResidentModels: Sendable {
    /// The worker process's models.
    public static let shared = ResidentModels(capacity: 16)

    final class Entry: @unchecked Sendable {
        // The model is touched only inside `lock`, by one task at a time.
        let model: Transformer
        let lock = Mutex(())
        init(model: Transformer) { self.model = model }
    }

    private struct State {
        var entries: [String: (entry: Entry, stamp: Date, used: UInt64)] = [:]
        var clock: UInt64 = 0
        var loads = 0
    }

    private let state = Mutex(State())
    public let capacity: Int

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Checkpoints loaded so far (a second use of one is not a load).
    public var loads: Int { state.withLock { $0.loads } }

    /// Runs `body` with the model of `checkpoint`, built for `maxBatch` sequences on `threads`
    /// threads, loading it first unless it is resident. `body` must leave the model as it found it
    /// (routes, interventions) apart from its activations.
    /// - Returns: `body`'s result and whether the model was already resident.
    /// - Throws: `ModelError` for a checkpoint that cannot be read, or what `body` throws.
    public func withModel<R>(_ checkpoint: String, maxBatch: Int = 1, threads: Int = 1,
                             _ body: (Transformer) throws -> R) throws -> (R, resident: Bool) {
        let directory = URL(fileURLWithPath: checkpoint).standardizedFileURL
        let manifest = directory.appendingPathComponent("checkpoint.json").path
        let stamp = (try? FileManager.default.attributesOfItem(atPath: manifest)[.modificationDate] as? Date) ?? .distantPast
        let key = "\(directory.path)#\(maxBatch)#\(threads)"
        let found = state.withLock { s -> Entry? in
            guard let cached = s.entries[key], cached.stamp == stamp else { return nil }
            s.clock += 1
            s.entries[key]!.used = s.clock
            return cached.entry
        }
        let entry: Entry
        if let found {
            entry = found
        } else {
            let (model, _) = try Checkpoint.model(from: directory, maxBatch: maxBatch, threads: threads)
            entry = Entry(model: model)
            state.withLock { s in
                s.clock += 1
                s.loads += 1
                s.entries[key] = (entry, stamp, s.clock)
                while s.entries.count > capacity, let oldest = s.entries.min(by: { $0.value.used < $1.value.used })?.key {
                    s.entries[oldest] = nil
                }
            }
        }
        let result = try entry.lock.withLock { _ in try body(entry.model) }
        return (result, found != nil)
    }
}
