import Foundation
internal import CYAML

/// Reads YAML text into a `YAMLNode` tree with libyaml's event parser.
///
/// Refused with a `file:line:column` error: text that is not UTF-8 or holds NUL bytes (a binary
/// file), more than `maximumBytes`, more than one document, anchors and aliases (experiment
/// files have `extends:` for sharing), duplicate keys, non-scalar keys, and nesting deeper than
/// `maximumDepth`. A syntax error stops the reading (libyaml cannot resume), so it is the only
/// problem reported; a tab in indentation is named as such.
/// - Complexity: O(bytes): keys are checked for duplicates with a dictionary per mapping.
public enum YAMLReader {
    public static let maximumBytes = 1 << 20
    public static let maximumDepth = 64

    /// Parses `text`; `file` names it in errors.
    public static func parse(_ text: [UInt8], file: String) throws(ExperimentError) -> YAMLNode {
        guard text.count <= maximumBytes else {
            throw ExperimentError(file: file, line: 1, column: 1,
                                  "the file is \(text.count) bytes; experiment files are limited to \(maximumBytes / 1024) KiB")
        }
        if let nul = text.firstIndex(of: 0) {
            let line = text[..<nul].reduce(1) { $0 + ($1 == 10 ? 1 : 0) }
            throw ExperimentError(file: file, line: line, column: 1, "the file holds a NUL byte: it is binary, not YAML text")
        }
        guard String(validating: text, as: UTF8.self) != nil else {
            throw ExperimentError(file: file, line: 1, column: 1, "the file is not UTF-8 text")
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw ExperimentError(file: file, line: 1, column: 1, "libyaml could not start a parser (out of memory)")
        }
        defer { yaml_parser_delete(&parser) }
        return try text.withUnsafeBufferPointer { buffer throws(ExperimentError) in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var builder = Builder(file: file)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    // A syntax error ends the reading: libyaml cannot go on past it.
                    let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    let line = Int(parser.problem_mark.line) + 1
                    let suspects = parser.context == nil ? [line] : [line, Int(parser.context_mark.line) + 1]
                    // libyaml's words for a tab in indentation do not mention the tab.
                    for suspect in suspects {
                        if let column = leadingTabColumn(in: buffer, line: suspect) {
                            throw ExperimentError(file: file, line: suspect, column: column,
                                                  "YAML: tabs are not allowed for indentation in YAML; indent with spaces")
                        }
                    }
                    throw ExperimentError(file: file, line: line, column: Int(parser.problem_mark.column) + 1,
                                          "YAML: \(context)\(problem)")
                }
                defer { yaml_event_delete(&event) }
                if try builder.take(&event) { break }
            }
            return try builder.result()
        }
    }

    /// The 1-based column of the first tab in the indentation of `line` (1-based), if any.
    /// - Complexity: O(bytes before the end of that line).
    static func leadingTabColumn(in text: UnsafeBufferPointer<UInt8>, line: Int) -> Int? {
        var index = 0, current = 1
        while current < line, index < text.count {
            if text[index] == 10 { current += 1 }
            index += 1
        }
        guard current == line else { return nil }
        var column = 1
        while index < text.count, text[index] == 32 || text[index] == 9 {
            if text[index] == 9 { return column }
            index += 1
            column += 1
        }
        return nil
    }

    /// Parses a file from disk.
    public static func parse(contentsOf path: String) throws(ExperimentError) -> YAMLNode {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ExperimentError(file: path, line: 0, column: 0, "no such file")
        }
        guard !isDirectory.boolValue else { throw ExperimentError(file: path, line: 0, column: 0, "is a directory, not an experiment file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError(file: path, line: 0, column: 0, "cannot be read (check its permissions)")
        }
        return try parse([UInt8](data), file: path)
    }

    /// Turns parser events into nodes.
    ///
    /// Open collections are frames on a stack, appended to in place: each event costs O(1), so a
    /// mapping of n keys or a list of n items is read in O(n).
    private struct Builder {
        let file: String
        private var stack: [Frame] = []
        private var root: YAMLNode?
        private var documents = 0

        init(file: String) { self.file = file }

        private struct Frame {
            var isMapping: Bool
            var mark: YAMLMark
            var items: [YAMLNode] = []
            var entries: [(key: String, keyMark: YAMLMark, value: YAMLNode)] = []
            /// Each key's first line, to refuse a duplicate without scanning the entries.
            var lines: [String: Int] = [:]
            var pendingKey: (String, YAMLMark)?
        }

        /// Consumes one event. - Returns: true at the end of the stream.
        mutating func take(_ event: inout yaml_event_t) throws(ExperimentError) -> Bool {
            let mark = YAMLMark(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
            switch event.type {
            case YAML_STREAM_END_EVENT:
                return true
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                if documents > 1 {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "a second YAML document ('---'); an experiment file holds one")
                }
            case YAML_ALIAS_EVENT:
                throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                      "YAML aliases (*name) are not supported; share settings with 'extends: other.yaml'")
            case YAML_SCALAR_EVENT:
                if event.data.scalar.anchor != nil {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "YAML anchors (&name) are not supported; share settings with 'extends: other.yaml'")
                }
                let bytes = UnsafeBufferPointer(start: event.data.scalar.value, count: event.data.scalar.length)
                let text = String(decoding: bytes, as: UTF8.self)
                let quoted = event.data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE
                    || event.data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE
                try add(.scalar(text, isQuoted: quoted, mark), mark: mark)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                if anchor != nil {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "YAML anchors (&name) are not supported; share settings with 'extends: other.yaml'")
                }
                guard stack.count < YAMLReader.maximumDepth else {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "nesting deeper than \(YAMLReader.maximumDepth) levels")
                }
                if let top = stack.last, top.isMapping, top.pendingKey == nil {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "a key must be a plain word, not a list or mapping")
                }
                stack.append(Frame(isMapping: event.type == YAML_MAPPING_START_EVENT, mark: mark))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                try add(frame.isMapping ? .mapping(frame.entries, frame.mark) : .sequence(frame.items, frame.mark), mark: frame.mark)
            default:
                break
            }
            return false
        }

        private mutating func add(_ node: YAMLNode, mark: YAMLMark) throws(ExperimentError) {
            guard !stack.isEmpty else {
                root = node
                return
            }
            let top = stack.count - 1
            guard stack[top].isMapping else {
                stack[top].items.append(node)
                return
            }
            if let (key, keyMark) = stack[top].pendingKey {
                stack[top].entries.append((key, keyMark, node))
                stack[top].pendingKey = nil
                return
            }
            guard case let .scalar(key, _, keyMark) = node else {
                throw ExperimentError(file: file, line: mark.line, column: mark.column, "a key must be a plain word")
            }
            if let first = stack[top].lines.updateValue(keyMark.line, forKey: key) {
                throw ExperimentError(file: file, line: keyMark.line, column: keyMark.column,
                                      "key '\(key)' appears twice in this mapping (first at line \(first)); keep one")
            }
            stack[top].pendingKey = (key, keyMark)
        }

        func result() throws(ExperimentError) -> YAMLNode {
            guard let root else {
                throw ExperimentError(file: file, line: 1, column: 1, "the file is empty; an experiment needs at least 'name' and 'task'")
            }
            return root
        }
    }
}
