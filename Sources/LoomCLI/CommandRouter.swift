import TensorCore
import Tasks
import Wire
/// Chooses the command from the words after `loom`, and answers `loom --help` and misspelt commands.
enum CommandRouter {
    /// Every command `loom` knows, in the order `loom --help` lists them.
    static var commands: [any Command.Type] { [
        VersionCommand.self,
        AttentionCommand.self,
        BenchAttentionCommand.self,
        BenchWireCommand.self,
        BenchSPCommand.self,
        BenchSimCommand.self,
        SimCalibrateCommand.self,
        SimValidateCommand.self,
        SimPublishedCommand.self,
        BenchSchedCommand.self,
        BenchTrainCommand.self,
        BenchFusionsCommand.self,
        BenchGEMMCommand.self,
        BenchOracleCommand.self,
        BenchServeCommand.self,
        RunCommand.self,
        RunsCommand.self,
        ShowCommand.self,
        ExportCommand.self,
        GCCommand.self,
        ReportCommand.self,
        TrainCommand.self,
        UpCommand.self,
        CoordinatorCommand.self,
        WorkerCommand.self,
        StatusCommand.self,
        SubmitCommand.self,
        ClusterUpCommand.self,
        ClusterDownCommand.self,
        ClusterStatusCommand.self,
        ClusterNodeStartCommand.self,
        ClusterNodeStopCommand.self,
        ClusterNodeCheckCommand.self,
        KeysCommand.self,
        GraphDrawCommand.self,
        NotebookRenderCommand.self,
        NotebookNewCommand.self,
        SimCommand.self,
    ] }

    /// Runs the command `arguments` name.
    /// - Returns: the exit status: 0 success, 1 failure at run time, 2 bad input.
    static func main(_ arguments: [String]) -> Int32 {
        guard let first = arguments.first else {
            Console.progress(help)
            Console.error("no command given; try 'loom --help'")
            return 2
        }
        if first == "--help" || first == "-h" {
            Console.output(help)
            return 0
        }
        if first == "help" {
            return helpCommand(Array(arguments.dropFirst()))
        }
        if first == "--version" {
            return VersionCommand.main([])
        }
        // A kernel forced through LOOM_KERNEL that this CPU cannot run is an error before any
        // work, never a silent switch to another kernel (nor an illegal instruction later).
        do {
            try TileKernel.checkEnvironment()
        } catch {
            Console.error(error.description)
            return 2
        }
        // Every command runs with the allocator settings of a worker (large blocks kept in the
        // heap for reuse): a benchmark then measures what workers run, and the kernels' big
        // buffers (32 MB each for attention's backward at n = 8192, d = 128) are not mapped,
        // faulted in and unmapped on every call (3 % of that backward on two cores).
        LargeMessageMemory.configure()
        // The longest command whose words start the arguments: `bench attention` before `bench`.
        let match = commands
            .filter { arguments.starts(with: $0.words) }
            .max { $0.words.count < $1.words.count }
        if let match {
            return match.main(Array(arguments.dropFirst(match.words.count)))
        }
        return unknownCommand(arguments)
    }

    /// The text of `loom --help`.
    static var help: String {
        let width = commands.map { $0.words.joined(separator: " ").count }.max() ?? 0
        var lines = [
            "loom: a distributed research workbench for long-context attention.",
            "",
            "usage: loom <command> [options]",
            "",
            "commands:",
        ]
        for command in commands {
            lines.append("  " + command.words.joined(separator: " ").padding(width) + "  " + command.summary)
        }
        lines += ["", "Run 'loom <command> --help' for a command's options and conventions."]
        return lines.joined(separator: "\n")
    }

    /// `loom help [command words]`.
    private static func helpCommand(_ words: [String]) -> Int32 {
        if words.isEmpty {
            Console.output(help)
            return 0
        }
        if let command = commands.first(where: { $0.words == words }) {
            Console.output(command.help)
            return 0
        }
        return unknownCommand(words)
    }

    /// Explains an unknown command or group, with the nearest known one; exit 2.
    private static func unknownCommand(_ arguments: [String]) -> Int32 {
        // A group word alone (`loom bench`) or followed by something unknown (`loom bench atention`).
        let group = commands.filter { $0.words.count > 1 && $0.words.first == arguments.first }
        if !group.isEmpty {
            let names = group.map { $0.words.dropFirst().joined(separator: " ") }
            let given = arguments.dropFirst().first
            if given == nil || given == "--help" || given == "-h" {
                let lines = ["loom \(arguments[0]): one of"] + group.map { "  \($0.name)  \($0.summary)" }
                let text = lines.joined(separator: "\n")
                if given == nil {
                    Console.progress(text)
                    Console.error("'loom \(arguments[0])' needs one of: \(names.joined(separator: ", "))")
                    return 2
                }
                Console.output(text)
                return 0
            }
            var message = "unknown command 'loom \(arguments[0]) \(given!)'"
            if let near = nearestName(to: given!, among: names) {
                message += "; did you mean 'loom \(arguments[0]) \(near)'?"
            } else {
                message += "; known: " + group.map { $0.name }.joined(separator: ", ")
            }
            Console.error(message)
            return 2
        }
        let firstWords = Array(Set(commands.map { $0.words[0] })).sorted()
        var message = "unknown command '\(arguments[0])'"
        if arguments[0].hasPrefix("-") {
            message = "unknown option '\(arguments[0])' for 'loom'; options come after the command"
        } else if let near = nearestName(to: arguments[0], among: firstWords) {
            message += "; did you mean '\(near)'?"
        }
        Console.error(message + " (see 'loom --help')")
        return 2
    }
}
