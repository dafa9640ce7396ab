import Foundation

/// Where the CLI writes: results to stdout (a clean table or JSON), everything else to stderr.
///
/// Both carry text from elsewhere (a task's error or echoed value from a worker, a file's name or
/// contents, a store written by another loom). Diagnostics on stderr are always written
/// terminal-safe: a control character but a line break or a tab shows as U+FFFD
/// (`RunTable.terminalSafe`), so an escape sequence cannot recolour, retitle or move the terminal
/// or forge lines. Results on stdout are too when stdout is a terminal; into a pipe or a file
/// (an export, JSON) they go as they are, since there they are data.
enum Console {
    /// Writes a line to stdout.
    static func output(_ line: String) {
        print(outputIsTerminal ? RunTable.terminalSafe(line) : line)
    }

    private static let outputIsTerminal = isatty(STDOUT_FILENO) != 0

    /// Pushes buffered stdout to its reader now (a pipe is block-buffered): for a line another
    /// program waits on, such as the endpoint `loom up` prints.
    static func flush() {
        fflush(nil)
    }

    /// Writes a progress or diagnostic line to stderr, unbuffered, so stdout stays machine-readable.
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((RunTable.terminalSafe(line) + "\n").utf8))
    }

    /// Writes `error: …` to stderr.
    static func error(_ text: String) {
        progress("error: " + text)
    }
}
