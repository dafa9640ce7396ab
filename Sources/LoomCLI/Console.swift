import Foundation

/// Where the CLI writes: results to stdout (a clean table or JSON), everything else to stderr.
enum Console {
    /// Writes a line to stdout.
    static func output(_ line: String) {
        print(line)
    }

    /// Pushes buffered stdout to its reader now (a pipe is block-buffered): for a line another
    /// program waits on, such as the endpoint `loom up` prints.
    static func flush() {
        fflush(nil)
    }

    /// Writes a progress or diagnostic line to stderr, unbuffered, so stdout stays machine-readable.
    static func progress(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes `error: …` to stderr.
    static func error(_ text: String) {
        progress("error: " + text)
    }
}
