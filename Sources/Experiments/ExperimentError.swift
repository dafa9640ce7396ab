/// The problems in an experiment file: where each is and what to do.
///
/// A file is checked whole, so one error usually carries every problem found, sorted by place,
/// and prints one `file:line:column: message` per line. `file`, `line`, `column` and `message`
/// are those of the first problem.
public struct ExperimentError: Error, CustomStringConvertible, Equatable {
    /// One problem at one place.
    public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
        /// A path, or a command-line override such as `override 'steps=abc'`.
        public var file: String
        /// 1-based; 0 when the place has no line (a missing file, an override).
        public var line: Int
        public var column: Int
        public var message: String

        public init(file: String, line: Int, column: Int, _ message: String) {
            self.file = file
            self.line = line
            self.column = column
            self.message = message
        }

        /// `file:line:column: message`, the form editors jump to; `file: message` without a line.
        public var description: String {
            line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
        }
    }

    /// Every problem, in the order they are printed; never empty.
    public private(set) var diagnostics: [Diagnostic]

    /// One problem.
    public init(file: String, line: Int, column: Int, _ message: String) {
        diagnostics = [Diagnostic(file: file, line: line, column: column, message)]
    }

    /// Several problems, printed in the given order.
    /// - Precondition: `diagnostics` is not empty.
    public init(_ diagnostics: [Diagnostic]) {
        precondition(!diagnostics.isEmpty, "an ExperimentError holds at least one problem")
        self.diagnostics = diagnostics
    }

    /// A problem at `node`, in the file the node came from (an `extends` base, an override) or else `file`.
    init(_ message: String, at node: YAMLNode, file: String) {
        let mark = node.mark
        self.init(file: mark.source ?? file, line: mark.line, column: mark.column, message)
    }

    public var file: String {
        get { diagnostics[0].file }
        set { diagnostics[0].file = newValue }
    }
    public var line: Int {
        get { diagnostics[0].line }
        set { diagnostics[0].line = newValue }
    }
    public var column: Int {
        get { diagnostics[0].column }
        set { diagnostics[0].column = newValue }
    }
    public var message: String {
        get { diagnostics[0].message }
        set { diagnostics[0].message = newValue }
    }

    /// The problem, or a count and then every problem, one per line.
    public var description: String {
        let lines = diagnostics.map(\.description)
        return lines.count == 1 ? lines[0] : (["\(lines.count) problems:"] + lines).joined(separator: "\n")
    }
}
