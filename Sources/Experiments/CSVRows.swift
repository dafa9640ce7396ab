import Foundation

/// `sweep.rows: file.csv`: explicit runs from a CSV file whose header names the parameters.
///
/// RFC 4180: commas, double quotes around a cell that holds commas, quotes ("" inside) or line
/// breaks. A quoted cell is always a string; others are typed like YAML scalars. Each cell
/// becomes a YAML node marked with its line and column in the CSV, so errors point there.
public enum CSVRows {
    static let maximumBytes = 1 << 20

    /// Reads `path` into one mapping per data row.
    /// - Throws: `ExperimentError` naming the CSV (missing, too large, not UTF-8, no header,
    ///   an empty header cell, a ragged row, an unclosed quote) or `referencedAt` for a missing file.
    static func read(_ path: String, referencedAt node: YAMLNode, from file: String) throws(ExperimentError) -> [YAMLNode] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ExperimentError("sweep.rows names '\(path)', which cannot be read; give a CSV path relative to \(file)", at: node, file: file)
        }
        guard data.count <= maximumBytes else {
            throw ExperimentError(file: path, line: 1, column: 1, "the CSV is \(data.count) bytes; rows files are limited to 1 MiB")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ExperimentError(file: path, line: 1, column: 1, "the CSV is not UTF-8 text")
        }
        let records = try parse(text, path: path)
        guard let header = records.first, !(header.count == 1 && header[0].text.isEmpty) else {
            throw ExperimentError(file: path, line: 1, column: 1, "the CSV has no header line naming the parameters")
        }
        for cell in header where cell.text.isEmpty {
            throw ExperimentError(file: path, line: cell.mark.line, column: cell.mark.column, "an empty column name in the header")
        }
        var rows: [YAMLNode] = []
        for record in records.dropFirst() {
            if record.count == 1 && record[0].text.isEmpty { continue }       // a blank line
            guard record.count == header.count else {
                throw ExperimentError(file: path, line: record[0].mark.line, column: 1,
                                      "this row has \(record.count) cell(s) but the header names \(header.count) column(s)")
            }
            rows.append(.mapping(zip(header, record).map { name, cell in
                (key: name.text, keyMark: cell.mark, value: .scalar(cell.text, isQuoted: cell.quoted, cell.mark))
            }, record[0].mark))
        }
        guard !rows.isEmpty else { throw ExperimentError(file: path, line: 1, column: 1, "the CSV has a header but no rows") }
        return rows
    }

    struct Cell { var text: String; var quoted: Bool; var mark: YAMLMark }

    /// Splits CSV text into records of cells, each with its 1-based line and column.
    static func parse(_ text: String, path: String) throws(ExperimentError) -> [[Cell]] {
        var records: [[Cell]] = [], record: [Cell] = []
        var cell = "", quoted = false, inQuotes = false
        var line = 1, column = 1, start = YAMLMark(line: 1, column: 1)
        var characters = Array(text.replacingOccurrences(of: "\r\n", with: "\n"))[...]
        func endCell() { record.append(Cell(text: quoted ? cell : cell.trimmingCharacters(in: .whitespaces), quoted: quoted, mark: start)); cell = ""; quoted = false }
        while let c = characters.popFirst() {
            defer { if c == "\n" { line += 1; column = 1 } else { column += 1 } }
            if inQuotes {
                if c == "\"" {
                    if characters.first == "\"" { cell.append("\""); characters.removeFirst(); column += 1 } else { inQuotes = false }
                } else {
                    cell.append(c)
                }
                continue
            }
            switch c {
            case "\"" where cell.trimmingCharacters(in: .whitespaces).isEmpty && !quoted:
                cell = ""; quoted = true; inQuotes = true
            case ",":
                endCell(); start = YAMLMark(line: line, column: column + 1)
            case "\n":
                endCell(); records.append(record); record = []; start = YAMLMark(line: line + 1, column: 1)
            default:
                cell.append(c)
            }
        }
        if inQuotes { throw ExperimentError(file: path, line: start.line, column: start.column, "a quoted cell is never closed") }
        if !cell.isEmpty || quoted || !record.isEmpty { endCell(); records.append(record) }
        return records
    }
}
