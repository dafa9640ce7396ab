/// A `loom` subcommand: its words, its options, its help, and what it does.
///
/// Each command is one file (`VersionCommand.swift`, …) and is listed once in `CommandRouter`.
protocol Command {
    /// The words after `loom` that select it, e.g. `["bench", "attention"]`.
    static var words: [String] { get }
    /// One line for `loom --help`.
    static var summary: String { get }
    /// The usage line after `usage: `, e.g. `loom attention --q FILE … --out FILE`.
    static var usage: String { get }
    /// The options it accepts (`--help` is implied).
    static var options: [Option] { get }
    /// Paragraphs after the options in `--help`: conventions, examples.
    static var discussion: String { get }
    /// Whether words that are not options are accepted (`loom run FILE key=value`).
    static var acceptsPositionals: Bool { get }
    /// Whether those words include `key=value` overrides, so a mistyped `--key=value` gets a hint.
    static var acceptsOverrides: Bool { get }
    /// Runs the command with parsed options.
    /// - Throws: `CommandError.usage` for bad input (exit 2), `.failure` at run time (exit 1).
    static func run(_ arguments: Arguments) throws(CommandError)
}

extension Command {
    static var acceptsPositionals: Bool { false }
    /// A command that takes overrides says so in its usage line (`loom run FILE [key=value …]`).
    static var acceptsOverrides: Bool { acceptsPositionals && usage.contains("key=value") }

    /// The command as typed, e.g. `loom bench attention`.
    static var name: String { (["loom"] + words).joined(separator: " ") }

    /// The full `--help` text.
    static var help: String {
        var lines = ["\(name): \(summary)", "", "usage: \(usage)", "", "options:"]
        let rows = options.map { ($0.synopsis, $0.help) } + [("-h, --help", "show this help")]
        let width = min(28, rows.map(\.0.count).max() ?? 0)
        for (synopsis, help) in rows {
            if synopsis.count > width {
                lines.append("  \(synopsis)")
                lines.append("  " + String(repeating: " ", count: width) + "  " + help)
            } else {
                lines.append("  " + synopsis.padding(width) + "  " + help)
            }
        }
        if !discussion.isEmpty { lines += ["", wrapped(discussion, width: 96)] }
        return lines.joined(separator: "\n")
    }

    /// Parses `words` (the arguments after the command's own words), then runs or prints help.
    /// - Returns: the process exit status.
    static func main(_ words: [String]) -> Int32 {
        do throws(CommandError) {
            guard let arguments = try Arguments.parse(words, command: name, options: options,
                                                      acceptsPositionals: acceptsPositionals,
                                                      acceptsOverrides: acceptsOverrides) else {
                Console.output(help)
                return 0
            }
            try run(arguments)
            return 0
        } catch {
            Console.error(error.description)
            if case .usage = error { Console.progress("(see '\(name) --help')") }
            return error.exitStatus
        }
    }
}

/// `text` with each paragraph line longer than `width` broken at spaces; indented lines (examples,
/// tables) are kept as they are.
func wrapped(_ text: String, width: Int) -> String {
    var lines: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        if line.first == " " || line.count <= width {
            lines.append(String(line))
            continue
        }
        var current = ""
        for word in line.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += (current.isEmpty ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
    }
    return lines.joined(separator: "\n")
}

extension String {
    /// The string padded with spaces on the right to `width` characters (never truncated).
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    /// The string padded with spaces on the left to `width` characters (never truncated).
    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
