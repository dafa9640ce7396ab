import Experiments
import Foundation

/// A `loom-run` cell: an experiment file run through the normal runner (`loom run`, as a child
/// process with an argument vector, never a shell), so a notebook can be a complete reproduction
/// from nothing. Its key is the plan of `loom run --dry-run`: every run's cache key and whether
/// it would run, so a render runs it again only when its runs are not all in the store.
///
///     ```{loom-run}
///     file: experiments/quickstart.yaml
///     overrides: ["tokens=[1024,2048]", "repeat=1"]
///     workers: 2
///     ```
struct RunCell {
    let cell: Notebook.Cell
    let runner: CellRunner

    struct Settings {
        var file: String
        var overrides: [String]
        var workers: Int
    }

    func settings() throws(NotebookInputError) -> Settings {
        let node = try runner.settings(cell)
        guard case let .mapping(entries, _) = node else { throw NotebookInputError("a loom-run cell is a mapping: file, overrides, workers") }
        for entry in entries where !["file", "overrides", "workers"].contains(entry.key) {
            throw NotebookInputError("line \(entry.keyMark.line): unknown key '\(entry.key)' (known: file, overrides, workers)")
        }
        guard let file = node["file"]?.scalarText, !file.isEmpty else { throw NotebookInputError("a loom-run cell needs 'file:' (an experiment file)") }
        // It becomes an argument of `loom run`: one starting with '-' would be read as an option.
        guard !file.hasPrefix("-") else { throw NotebookInputError("file: '\(file)' starts with '-'; write ./\(file) for a file of that name") }
        var overrides: [String] = []
        switch node["overrides"] {
        case let .sequence(items, _)?: overrides = items.compactMap(\.scalarText)
        case let value?: if let one = value.scalarText { overrides = [one] }
        case nil: break
        }
        for override in overrides where !override.contains("=") || override.hasPrefix("-") {
            throw NotebookInputError("override '\(override)' is not key=value")
        }
        let workersText = node["workers"]?.scalarText ?? "2"
        guard let workers = Int(workersText), (1...64).contains(workers) else { throw NotebookInputError("workers: \(workersText) is not 1…64") }
        return Settings(file: file, overrides: overrides, workers: workers)
    }

    private var stateDirectory: String { URL(fileURLWithPath: runner.storePath).deletingLastPathComponent().path }

    /// The dry run's plan as a digest: cache keys and actions.
    func plan() throws(NotebookInputError) -> String {
        let settings = try settings()
        let outcome = try loom(["run", settings.file] + settings.overrides + ["--state", stateDirectory, "--dry-run", "--json"], timeout: .seconds(60))
        guard outcome.status == 0 else { throw NotebookInputError("loom run --dry-run failed: \(outcome.errors)") }
        var hash = SHA256()
        for line in outcome.output.split(separator: "\n") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
            hash.update(Array("\(object["cache_key"] ?? "")=\(object["action"] ?? "")\n".utf8))
        }
        return hash.hexDigest()
    }

    func run() throws(NotebookInputError) -> CellOutput {
        let settings = try settings()
        let outcome = try loom(["run", settings.file] + settings.overrides
                               + ["--state", stateDirectory, "--workers", String(settings.workers), "--no-report", "--quiet"], timeout: .seconds(24 * 3600))
        guard outcome.status == 0 else {
            throw NotebookInputError("loom run \(settings.file) failed (status \(outcome.status)): \(outcome.errors)")
        }
        let summary = outcome.output.split(separator: "\n").last.map(String.init) ?? "done"
        let command = (["loom", "run", settings.file] + settings.overrides + ["--workers", String(settings.workers)]).joined(separator: " ")
        return CellOutput(markdown: "`\(command)`: \(summary)",
                          html: "<p class=\"run\"><code>\(HTML.escape(command))</code>: \(HTML.escape(summary))</p>", files: [], error: nil)
    }

    /// Runs loom with `arguments` (no shell), stdout and stderr to files, at most `timeout`.
    private func loom(_ arguments: [String], timeout: Duration) throws(NotebookInputError) -> (status: Int32, output: String, errors: String) {
        guard let executable = runner.loom else { throw NotebookInputError("loom-run cells need the loom executable; render with 'loom notebook render'") }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("loom-notebook-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true) } catch {
            throw NotebookInputError("cannot make a scratch folder: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        do {
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            try process.run()
        } catch {
            throw NotebookInputError("cannot run \(executable.path): \(error.localizedDescription)")
        }
        let end = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw NotebookInputError("loom \(arguments.prefix(2).joined(separator: " ")) ran past \(timeout) and was stopped")
        }
        let output = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        let errors = ((try? String(contentsOf: err, encoding: .utf8)) ?? "").split(separator: "\n").suffix(4).joined(separator: " | ")
        return (process.terminationStatus, output, errors)
    }
}
