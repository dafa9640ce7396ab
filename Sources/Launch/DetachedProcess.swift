import CSystem
import Foundation

/// Starts a process that outlives its starter: a new session (no terminal's hangup or Ctrl-C
/// reaches it), stdin from /dev/null, stdout and stderr to a log, no other descriptor
/// inherited (so a remote shell waiting for its output to end is not held open), and the default
/// disposition for the signals Loom commands ignore while they run. The log starts empty, so what
/// it holds is this process's alone.
public enum DetachedProcess {
    /// Starts `executable` with `arguments`.
    /// - Returns: the new process's PID.
    public static func start(executable: String, arguments: [String], log: String) throws(LaunchError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        loom_spawn_close_from(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK) | LOOM_POSIX_SPAWN_SETSID))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else {
            throw LaunchError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return pid
    }
}
