/// The subset of Python literals that `.npy` headers use: a dict of strings, booleans, integers
/// and tuples (lists and `None` are parsed so structured dtypes get a clear refusal).
enum PythonLiteral {
    case string(String)
    case integer(Int)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    case dictionary([PythonField])
}

/// One `key: value` entry of a dict literal, in the order written.
struct PythonField {
    var key: String
    var value: PythonLiteral
}

/// A recursive-descent parser over header bytes, depth-limited so hostile nesting cannot exhaust
/// the stack. It accepts what `repr` of a dict writes, plus Python 2's `3L` integers and either
/// quote style, and rejects everything else with the position of the problem.
struct PythonLiteralParser {
    private let text: ArraySlice<UInt8>
    private var position: Int
    private let fail: (String) -> TensorError

    /// Parses `text` as one dict literal, allowing surrounding whitespace (the header's padding).
    static func parseDictionary(_ text: ArraySlice<UInt8>,
                                _ fail: @escaping (String) -> TensorError) throws(TensorError)
        -> [PythonField] {
        var parser = PythonLiteralParser(text: text, position: text.startIndex, fail: fail)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == text.endIndex else { throw parser.error("text after the dict") }
        guard case let .dictionary(fields) = value else { throw parser.error("the header is not a dict") }
        return fields
    }

    private func error(_ problem: String) -> TensorError {
        fail("malformed header dict: \(problem) at byte \(position - text.startIndex): " + NPYHeader.quote(text))
    }

    private mutating func skipWhitespace() {
        while position < text.endIndex, [0x20, 0x09, 0x0A, 0x0D].contains(text[position]) { position += 1 }
    }

    /// Consumes `byte` after optional whitespace if it is next.
    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < text.endIndex, text[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func parseValue(depth: Int) throws(TensorError) -> PythonLiteral {
        guard depth <= NPYHeader.maximumNesting else { throw error("nesting deeper than \(NPYHeader.maximumNesting)") }
        skipWhitespace()
        guard position < text.endIndex else { throw error("unexpected end of header") }
        switch text[position] {
        case UInt8(ascii: "{"):
            position += 1
            var fields: [PythonField] = []
            while !consume(UInt8(ascii: "}")) {
                guard case let .string(key) = try parseValue(depth: depth + 1) else { throw error("a dict key is not a string") }
                guard consume(UInt8(ascii: ":")) else { throw error("expected ':' after '\(key)'") }
                let value = try parseValue(depth: depth + 1)
                guard !fields.contains(where: { $0.key == key }) else { throw error("key '\(key)' appears twice") }
                fields.append(PythonField(key: key, value: value))
                if !consume(UInt8(ascii: ",")) {
                    guard consume(UInt8(ascii: "}")) else { throw error("expected ',' or '}'") }
                    break
                }
            }
            return .dictionary(fields)
        case UInt8(ascii: "("), UInt8(ascii: "["):
            let isTuple = text[position] == UInt8(ascii: "(")
            let close = UInt8(ascii: isTuple ? ")" : "]")
            position += 1
            var elements: [PythonLiteral] = []
            var sawComma = false
            while !consume(close) {
                elements.append(try parseValue(depth: depth + 1))
                sawComma = consume(UInt8(ascii: ","))
                if !sawComma {
                    guard consume(close) else { throw error("expected ',' or '\(Character(Unicode.Scalar(close)))'") }
                    break
                }
            }
            // `(5)` is just 5 in Python; a one-element tuple needs its comma.
            if isTuple, elements.count == 1, !sawComma { return elements[0] }
            return isTuple ? .tuple(elements) : .list(elements)
        case UInt8(ascii: "'"), UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try parseInteger())
        default:
            return try parseName()
        }
    }

    private mutating func parseString() throws(TensorError) -> String {
        let quote = text[position]
        position += 1
        var bytes: [UInt8] = []
        while position < text.endIndex, text[position] != quote {
            // A backslash keeps the next byte as it is: enough for dtype names, which never need escapes.
            if text[position] == UInt8(ascii: "\\") { position += 1 }
            guard position < text.endIndex else { break }
            bytes.append(text[position])
            position += 1
        }
        guard position < text.endIndex else { throw error("unterminated string") }
        position += 1
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func parseInteger() throws(TensorError) -> Int {
        var isNegative = false
        if text[position] == UInt8(ascii: "-") || text[position] == UInt8(ascii: "+") {
            isNegative = text[position] == UInt8(ascii: "-")
            position += 1
        }
        var value = 0
        var digits = 0
        while position < text.endIndex, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[position]) {
            let digit = Int(text[position] - UInt8(ascii: "0"))
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw error("integer too large for an Int") }
            value = sum
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw error("expected digits") }
        // Python 2's repr wrote long integers as `3L`; old files still have them.
        if position < text.endIndex, text[position] == UInt8(ascii: "L") || text[position] == UInt8(ascii: "l") {
            position += 1
        }
        if position < text.endIndex, text[position] == UInt8(ascii: ".") || text[position] == UInt8(ascii: "e") {
            throw error("expected an integer, found a float")
        }
        return isNegative ? -value : value
    }

    private mutating func parseName() throws(TensorError) -> PythonLiteral {
        let start = position
        while position < text.endIndex,
              (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(text[position])
                  || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(text[position])
                  || text[position] == UInt8(ascii: "_") {
            position += 1
        }
        switch String(decoding: text[start..<position], as: UTF8.self) {
        case "True": return .bool(true)
        case "False": return .bool(false)
        case "None": return .none
        case "": throw error("unexpected character '\(NPYHeader.quote(text[start...].prefix(1)))'")
        case let name: throw error("unknown name '\(name)'")
        }
    }
}
