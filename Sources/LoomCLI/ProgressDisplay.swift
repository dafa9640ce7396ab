import Experiments
import Runner
import Foundation

/// Shows a sweep's progress on stderr: a bar redrawn in place on a terminal, a plain line every
/// few seconds otherwise (a log file or CI), nothing with `--quiet`.
final class ProgressDisplay {
    enum Mode { case bar, lines, quiet }

    let name: String
    let mode: Mode
    private var lastLine = ContinuousClock.now - .seconds(3600)
    private var drewBar = false

    init(name: String, quiet: Bool) {
        self.name = name
        mode = quiet ? .quiet : isatty(STDERR_FILENO) == 1 ? .bar : .lines
    }

    /// How often the runner should call `show`.
    var interval: Duration { mode == .bar ? .milliseconds(200) : .seconds(1) }

    func show(_ progress: ExperimentRunner.Progress) {
        switch mode {
        case .quiet:
            return
        case .bar:
            let line = Self.bar(progress, name: name, width: 24)
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (progress.finished ? "\n" : "")).utf8))
            drewBar = !progress.finished
        case .lines:
            guard progress.finished || ContinuousClock.now - lastLine >= .seconds(5) else { return }
            lastLine = ContinuousClock.now
            Console.progress(Self.summary(progress, name: name))
        }
    }

    /// A note between bar redraws: clears the bar's line first so the two do not mix.
    func note(_ line: String) {
        guard mode != .quiet else { return }
        if drewBar { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        Console.progress("\(name): \(line)")
    }

    /// `quickstart [#########-----]  8/12  1 running  0 failed  2 cached  ETA 0:04`
    static func bar(_ p: ExperimentRunner.Progress, name: String, width: Int) -> String {
        // Filled by the share of work done, running runs' steps included, not by finished runs only.
        let filled = min(width, Int(p.fractionDone * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        return "\(name) [\(bar)] \(p.done)/\(p.total)  \(p.running) running" + steps(p) + "  \(p.failed) failed  \(p.cached) cached"
            + (p.lostAttempts > 0 ? "  \(p.lostAttempts) lost" : "")
            + "  " + (p.finished ? "in " + clock(p.elapsed.inSeconds) : "ETA " + (p.etaSeconds.map(clock) ?? "?"))
    }

    /// `quickstart: 8/12 done, 70% (2 cached, 0 failed, 1 running), 6.1 s, ETA 0:04`
    static func summary(_ p: ExperimentRunner.Progress, name: String) -> String {
        "\(name): \(p.done)/\(p.total) done, \(Int(p.fractionDone * 100))% (\(p.cached) cached, \(p.failed) failed, \(p.running) running" + steps(p)
            + (p.lostAttempts > 0 ? ", \(p.lostAttempts) attempt(s) lost and run again" : "") + ")"
            + String(format: ", %.1f s", p.elapsed.inSeconds)
            + (p.finished ? "" : ", ETA " + (p.etaSeconds.map(clock) ?? "?"))
    }

    /// ` (step 800/6000)`: how far the running runs that report steps are; empty otherwise.
    static func steps(_ p: ExperimentRunner.Progress) -> String {
        p.totalSteps > 0 && !p.finished ? " (step \(p.steps)/\(p.totalSteps))" : ""
    }

    /// `m:ss`, or `h:mm:ss` past an hour.
    static func clock(_ seconds: Double) -> String {
        // A time no clock gives (a damaged store): a dash, not a trap converting it to Int.
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "—" }
        let total = Int(seconds.rounded(.up))
        let (h, m, s) = (total / 3600, total / 60 % 60, total % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%d:%02d", m, s)
    }
}
