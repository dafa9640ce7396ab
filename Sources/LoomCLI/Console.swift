import Foundation

/// Where the CLI writes: results to stdout (a clean table or JSON), everything else to stderr.
enum Console {
    /// Writes a line to stdout.
    static func output(_ line: String) {
        print(line)
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
