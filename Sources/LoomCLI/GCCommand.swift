import Experiments
import Foundation
import Tasks

/// `loom gc`: removes what the store no longer needs.
enum GCCommand: Command {
    static let words = ["gc"]
    static let summary = "remove artifact files no run names, or a whole experiment, and compact the store"
    static let usage = "loom gc [--experiment NAME] [--dry-run] [--state DIR]"
    static let options: [Option] = [
        .value("experiment", "NAME", "delete this experiment: its runs, metrics, attempts, artifacts and invocations"),
        .flag("dry-run", "say what would be removed; change nothing"),
        StoreOptions.state,
    ]
    static let discussion = """
        Without --experiment nothing stored is deleted: gc removes files under DIR/artifacts that no \
        artifact row names (left by a crash between copy and insert, or by hand), lists rows whose \
        file is gone, and compacts the SQLite file (VACUUM). Reports under reports/ are yours and \
        are never touched. Run it when no 'loom run' is writing to the same store.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let store = try StoreOptions.open(arguments, forWriting: true)
        let state = arguments.string("state") ?? ".loom"
        let dryRun = arguments.flag("dry-run")
        let experiment = arguments.string("experiment")
        if let experiment {
            let known = (try? store.experimentNames()) ?? []
            guard known.contains(experiment) else {
                let hint = nearestName(to: experiment, among: known).map { "; did you mean '\($0)'?" } ?? ""
                throw .usage("no experiment '\(experiment)' in \(store.path)\(hint) (known: \(known.joined(separator: ", ")))")
            }
        }
        let result: ResultsStore.Collection
        do {
            result = try store.collectGarbage(artifacts: URL(fileURLWithPath: state).appendingPathComponent("artifacts"),
                                              experiment: experiment, dryRun: dryRun)
        } catch { throw .failure("\(error)") }
        let verb = dryRun ? "would remove" : "removed"
        if let experiment { Console.output("\(verb) experiment \(experiment) with \(result.deletedRuns) run(s)") }
        for file in result.orphanFiles { Console.output("\(verb) \(file) (no run names it)") }
        for file in result.missingFiles { Console.output("missing \(file) (its row stays, with the checksum)") }
        Console.output("\(verb) \(result.orphanFiles.count) file(s)" + (dryRun ? "" : ", \(result.bytesFreed) bytes freed") + " in \(state)")
    }
}
