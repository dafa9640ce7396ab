import Dispatch
import Foundation
import Synchronization

/// SIGINT, SIGTERM and SIGUSR2 turned into flags that long-running commands poll between steps.
/// SIGUSR2 counts as SIGTERM: it is what Slurm sends ahead of a time limit or a preemption
/// (`--signal=USR2@120`), and every command then stops as it would on SIGTERM.
///
/// The signals are ignored at the process level and delivered through dispatch sources, so no
/// code runs inside a signal handler.
final class Signals: Sendable {
    private final class Counters: Sendable {
        let interrupts = Atomic<Int>(0)
        let terminations = Atomic<Int>(0)
    }
    private let counters = Counters()

    // Dispatch sources are thread-safe; they are kept only so they stay alive.
    nonisolated(unsafe) private let sources: [DispatchSourceSignal]

    /// Starts listening for SIGINT, SIGTERM and SIGUSR2.
    init() {
        let queue = DispatchQueue(label: "loom.signals")
        var made: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGUSR2] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [counters] in
                if signalNumber == SIGINT {
                    counters.interrupts.add(1, ordering: .relaxed)
                } else {
                    counters.terminations.add(1, ordering: .relaxed)
                }
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    /// Whether SIGINT (Ctrl-C) or SIGTERM has arrived.
    var received: Bool { counters.interrupts.load(ordering: .relaxed) + counters.terminations.load(ordering: .relaxed) > 0 }

    /// How many SIGINTs arrived (a second Ctrl-C means "now").
    var interruptCount: Int { counters.interrupts.load(ordering: .relaxed) }

    /// Whether SIGTERM (or SIGUSR2) arrived.
    var terminated: Bool { counters.terminations.load(ordering: .relaxed) > 0 }
}

/// A log sink that prefixes each line with the time and a component name, on stderr.
func clusterLog(_ component: String) -> @Sendable (String) -> Void {
    { line in
        let time = Date().formatted(.iso8601.time(includingFractionalSeconds: true))
        Console.progress(RunTable.terminalSafe("\(time) [\(component)] \(line)"))
    }
}
