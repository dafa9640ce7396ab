import Foundation

/// Processes on this host, read from /proc: the launcher stops only a process whose command line
/// shows it is the one it started, never whatever now holds a recorded PID.
public enum LocalProcesses {
    /// The command line of `pid`, or nil when no such process runs (a zombie counts as gone).
    public static func commandLine(of pid: Int32) -> [String]? {
        guard pid > 0, isRunning(pid),
              let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
        return data.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `pid` is a live process (not a zombie waiting to be reaped).
    public static func isRunning(_ pid: Int32) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].drop(while: { $0 == " " }).first
        return state != "Z" && state != "X"
    }

    /// Whether `arguments` (a command line) holds `--name value` (or `--name=value`).
    public static func has(_ arguments: [String], option name: String, value: String) -> Bool {
        if arguments.contains("--\(name)=\(value)") { return true }
        return zip(arguments, arguments.dropFirst()).contains { $0 == "--\(name)" && $1 == value }
    }

    /// What `stop` found.
    public enum Stopped: String, Sendable {
        /// It was running and has now exited.
        case stopped
        /// Nothing ran under that PID.
        case gone
        /// Another program holds the PID now; it was left alone.
        case notOurs = "not-ours"
        /// It ignored SIGTERM and SIGKILL within the time allowed.
        case stuck
    }

    /// Stops `pid` if `isOurs` accepts its command line: SIGTERM, then SIGKILL after `grace`.
    public static func stop(_ pid: Int32, grace: Duration, isOurs: ([String]) -> Bool) -> Stopped {
        guard let arguments = commandLine(of: pid) else { return .gone }
        guard isOurs(arguments) else { return .notOurs }
        kill(pid, SIGTERM)
        if waitForExit(pid, within: grace) { return .stopped }
        kill(pid, SIGKILL)
        return waitForExit(pid, within: .seconds(5)) ? .stopped : .stuck
    }

    /// Waits until `pid` has exited, at most `limit`.
    public static func waitForExit(_ pid: Int32, within limit: Duration) -> Bool {
        let end = ContinuousClock.now + limit
        while isRunning(pid) {
            if ContinuousClock.now >= end { return false }
            // Reap it if it is our own child, so it does not linger as a zombie.
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
            Thread.sleep(forTimeInterval: 0.02)
        }
        return true
    }
}
