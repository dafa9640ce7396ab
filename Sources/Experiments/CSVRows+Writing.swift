import Foundation

extension CSVRows {
    /// `text` as one RFC 4180 field, safe to open in a spreadsheet.
    ///
    /// A field holding a comma, a quote or a line break is quoted (quotes doubled). Text that a
    /// spreadsheet would run as a formula (a leading `=`, `+`, `-`, `@`, tab or carriage return)
    /// gets a leading `'`, the spreadsheet's own "this is text" mark; numbers such as `-1.5` are
    /// left as they are.
    public static func field(_ text: String) -> String {
        var text = text
        if let first = text.first, "=+-@\t\r".contains(first), Double(text) == nil { text = "'" + text }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One CSV line (no line break at the end).
    public static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }
}
