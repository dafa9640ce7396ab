/// A problem in an experiment file: where it is and what to do.
public struct ExperimentError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    init(_ message: String, at node: YAMLNode, file: String) {
        self.init(file: file, line: node.mark.line, column: node.mark.column, message)
    }

    /// `file:line:column: message`, the form editors jump to.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}
