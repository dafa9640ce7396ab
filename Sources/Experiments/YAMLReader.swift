import Foundation
internal import CYAML

/// Reads YAML text into a `YAMLNode` tree with libyaml's event parser.
///
/// Refused with a `file:line:column` error: text that is not UTF-8 or holds NUL bytes (a binary
/// file), more than `maximumBytes`, more than one document, anchors and aliases (experiment
/// files have `extends:` for sharing), duplicate keys, non-scalar keys, and nesting deeper than
/// `maximumDepth`.
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
                    let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
                    let context = parser.context.map { String(cString: $0) + ": " } ?? ""
                    throw ExperimentError(file: file, line: Int(parser.problem_mark.line) + 1,
                                          column: Int(parser.problem_mark.column) + 1, "YAML: \(context)\(problem)")
                }
                defer { yaml_event_delete(&event) }
                if try builder.take(&event) { break }
            }
            return try builder.result()
        }
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
    private struct Builder {
        let file: String
        private var stack: [(node: Partial, mark: YAMLMark)] = []
        private var root: YAMLNode?
        private var documents = 0

        init(file: String) { self.file = file }

        private enum Partial {
            case sequence([YAMLNode])
            case mapping([(key: String, keyMark: YAMLMark, value: YAMLNode)], pendingKey: (String, YAMLMark)?)
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
                if case let .mapping(_, pending)? = stack.last?.node, pending == nil {
                    throw ExperimentError(file: file, line: mark.line, column: mark.column,
                                          "a key must be a plain word, not a list or mapping")
                }
                stack.append((event.type == YAML_SEQUENCE_START_EVENT ? .sequence([]) : .mapping([], pendingKey: nil), mark))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let (partial, startMark) = stack.removeLast()
                switch partial {
                case let .sequence(items): try add(.sequence(items, startMark), mark: startMark)
                case let .mapping(entries, _): try add(.mapping(entries, startMark), mark: startMark)
                }
            default:
                break
            }
            return false
        }

        private mutating func add(_ node: YAMLNode, mark: YAMLMark) throws(ExperimentError) {
            guard let top = stack.popLast() else {
                root = node
                return
            }
            switch top.node {
            case var .sequence(items):
                items.append(node)
                stack.append((.sequence(items), top.mark))
            case .mapping(var entries, let pending):
                if let (key, keyMark) = pending {
                    entries.append((key, keyMark, node))
                    stack.append((.mapping(entries, pendingKey: nil), top.mark))
                } else {
                    guard case let .scalar(key, _, keyMark) = node else {
                        throw ExperimentError(file: file, line: mark.line, column: mark.column, "a key must be a plain word")
                    }
                    if let first = entries.first(where: { $0.key == key }) {
                        throw ExperimentError(file: file, line: keyMark.line, column: keyMark.column,
                                              "key '\(key)' appears twice in this mapping (first at line \(first.keyMark.line)); keep one")
                    }
                    stack.append((.mapping(entries, pendingKey: (key, keyMark)), top.mark))
                }
            }
        }

        func result() throws(ExperimentError) -> YAMLNode {
            guard let root else {
                throw ExperimentError(file: file, line: 1, column: 1, "the file is empty; an experiment needs at least 'name' and 'task'")
            }
            return root
        }
    }
}
