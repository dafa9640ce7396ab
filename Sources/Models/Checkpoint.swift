import Foundation
import TensorCore

/// A training checkpoint: a directory a user can read with numpy.
///
/// ```
/// checkpoint.json            format, step, model config, optimiser kind/steps/settings, extra
/// params/<name>.npy          each parameter, float32, C order (names as in ParameterStore)
/// optimizer/<state>/<name>.npy   each optimiser state array (AdamW: m, v; SGD: momentum)
/// ```
/// Saving writes a sibling temporary directory and renames it into place, so a crash (or
/// `kill -9`) mid-save leaves the previous checkpoint whole. Float32 `.npy` round-trips exactly,
/// which is what makes a resumed run bit-identical.
public enum Checkpoint {
    public static let format = "loom-checkpoint-1"

    /// What `checkpoint.json` holds.
    public struct Manifest: Codable, Sendable, Equatable {
        public var format: String
        public var step: Int
        public var model: ModelConfig
        public var optimizer: String
        public var optimizerSteps: Int
        public var hyperparameters: [String: Double]
        /// Anything else the trainer wants back (its settings, the data seed).
        public var extra: [String: String]
    }

    /// Writes a checkpoint of the state after `step` steps into `directory` (replacing it).
    public static func save(to directory: URL, step: Int, config: ModelConfig, parameters: ParameterStore,
                            optimizer: any Optimizer, extra: [String: String] = [:]) throws(ModelError) {
        let manager = FileManager.default
        let temporary = directory.deletingLastPathComponent()
            .appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try? manager.removeItem(at: temporary)
            try manager.createDirectory(at: temporary.appendingPathComponent("params"), withIntermediateDirectories: true)
            for entry in parameters.entries {
                try write(parameters.values + entry.offset, entry, to: temporary.appendingPathComponent("params/\(entry.name).npy"))
            }
            for (name, values) in optimizer.state {
                let folder = temporary.appendingPathComponent("optimizer/\(name)")
                try manager.createDirectory(at: folder, withIntermediateDirectories: true)
                for entry in parameters.entries {
                    try write(values + entry.offset, entry, to: folder.appendingPathComponent("\(entry.name).npy"))
                }
            }
            let manifest = Manifest(format: format, step: step, model: config, optimizer: optimizer.kind,
                                    optimizerSteps: optimizer.steps, hyperparameters: optimizer.hyperparameters, extra: extra)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(manifest).write(to: temporary.appendingPathComponent("checkpoint.json"))
            // Replace the old checkpoint only once the new one is whole.
            if manager.fileExists(atPath: directory.path) {
                let old = directory.deletingLastPathComponent().appendingPathComponent(".\(directory.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
                try? manager.removeItem(at: old)
                try manager.moveItem(at: directory, to: old)
                try manager.moveItem(at: temporary, to: directory)
                try? manager.removeItem(at: old)
            } else {
                try manager.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
                try manager.moveItem(at: temporary, to: directory)
            }
        } catch let error as ModelError {
            throw error
        } catch {
            try? manager.removeItem(at: temporary)
            throw .checkpoint("cannot write \(directory.path): \(error.localizedDescription)")
        }
    }

    /// Reads `checkpoint.json` of `directory`.
    public static func manifest(at directory: URL) throws(ModelError) -> Manifest {
        let file = directory.appendingPathComponent("checkpoint.json")
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw .checkpoint("no checkpoint at \(directory.path) (\(file.lastPathComponent) is missing)")
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw .checkpoint("\(file.path) is not a Loom checkpoint manifest: \(error)")
        }
        guard manifest.format == format else {
            throw .checkpoint("\(file.path) has format '\(manifest.format)'; this Loom reads '\(format)'")
        }
        return manifest
    }

    /// Loads parameters and optimiser state saved in `directory` into a model built from the
    /// same configuration. - Returns: the manifest (its `step` is where training resumes).
    /// - Throws: `ModelError.checkpoint` for a missing file, a shape or optimiser that does not match.
    @discardableResult
    public static func restore(from directory: URL, into parameters: ParameterStore, optimizer: any Optimizer) throws(ModelError) -> Manifest {
        let manifest = try manifest(at: directory)
        guard manifest.optimizer == optimizer.kind else {
            throw .checkpoint("\(directory.path) was saved with \(manifest.optimizer), but this run uses \(optimizer.kind); resume with the same optimizer")
        }
        for entry in parameters.entries {
            try read(into: parameters.values + entry.offset, entry, from: directory.appendingPathComponent("params/\(entry.name).npy"))
        }
        for (name, values) in optimizer.state {
            for entry in parameters.entries {
                try read(into: values + entry.offset, entry, from: directory.appendingPathComponent("optimizer/\(name)/\(entry.name).npy"))
            }
        }
        optimizer.steps = manifest.optimizerSteps
        return manifest
    }

    /// Loads only the parameters saved in `directory` (no optimiser state: to evaluate or serve).
    /// - Throws: `ModelError.checkpoint` for a missing file or a shape that does not match.
    public static func loadParameters(from directory: URL, into parameters: ParameterStore) throws(ModelError) {
        for entry in parameters.entries {
            try read(into: parameters.values + entry.offset, entry, from: directory.appendingPathComponent("params/\(entry.name).npy"))
        }
    }

    /// The model saved in `directory`: built from its manifest's configuration, parameters loaded.
    /// - Throws: `ModelError` for a missing or unreadable checkpoint.
    public static func model(from directory: URL, maxBatch: Int, threads: Int) throws(ModelError) -> (Transformer, Manifest) {
        let manifest = try manifest(at: directory)
        let model = try Transformer(config: manifest.model, initialSeed: nil, maxBatch: maxBatch, threads: threads)
        try loadParameters(from: directory, into: model.parameters)
        return (model, manifest)
    }

    private static func write(_ values: UnsafeMutablePointer<Float>, _ entry: ParameterStore.Entry, to url: URL) throws {
        let tensor = try Tensor(shape: entry.shape, storage: Array(UnsafeBufferPointer(start: values, count: entry.count)))
        try tensor.writeNPY(toFile: url.path)
    }

    private static func read(into values: UnsafeMutablePointer<Float>, _ entry: ParameterStore.Entry, from url: URL) throws(ModelError) {
        let tensor: Tensor
        do { tensor = try Tensor(contentsOfNPYFile: url.path) } catch {
            throw .checkpoint("cannot read \(url.path): \(error)")
        }
        guard tensor.shape == entry.shape else {
            throw .checkpoint("\(url.path) has shape \(tensor.shape) but the model's \(entry.name) is \(entry.shape); the checkpoint is from another configuration")
        }
        tensor.storage.withUnsafeBufferPointer { values.update(from: $0.baseAddress!, count: entry.count) }
    }
}
