import Experiments
import Foundation
import Tasks

/// The table `loom runs` prints: a header and one row per run, each column as wide as its
/// widest cell up to a cap, long cells cut with an ellipsis, the whole fitted to a width.
struct RunTable {
    var header: [String]
    var rows: [[String]]
    /// Columns never narrowed to fit (id, status, duration: short and always wanted whole).
    var keptWhole: Set<Int> = []

    /// The longest a cell may be before it is cut (a parameter list, an error message).
    static let maximumCellWidth = 32
    /// No column is narrowed below this to fit the width.
    static let minimumColumnWidth = 6

    /// The lines to print: columns separated by two spaces, every line at most `width`
    /// characters when the columns can shrink that far (nil: no limit but the cell cap).
    func lines(width: Int?) -> [String] {
        var widths = header.indices.map { column in
            min(Self.maximumCellWidth, ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0)
        }
        if let width {
            // Narrow the widest column, one character at a time, until the line fits.
            while widths.reduce(0, +) + 2 * max(0, widths.count - 1) > width,
                  let widest = widths.indices.filter({ !keptWhole.contains($0) }).max(by: { widths[$0] < widths[$1] }),
                  widths[widest] > Self.minimumColumnWidth {
                widths[widest] -= 1
            }
        }
        let numeric = header.indices.map { column in rows.allSatisfy { $0[column].isEmpty || Double($0[column]) != nil } }
        return ([header] + rows).map { cells in
            cells.indices.map { column in
                let cell = Self.cut(cells[column], to: widths[column])
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return numeric[column] ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
    }

    /// `text` on one line, at most `width` characters, ending in `…` when cut, with no control
    /// characters (see `terminalSafe`).
    static func cut(_ text: String, to width: Int) -> String {
        let line = terminalSafe(text.replacingOccurrences(of: "\n", with: " "))
        return line.count <= width ? line : String(line.prefix(max(0, width - 1))) + "…"
    }

    /// `text` with every control character (C0 but line breaks and tabs, DEL, C1) shown as `�`: a value
    /// from a run or an experiment file must not move the cursor, recolour or retitle the
    /// terminal (`ESC [`, `ESC ]`) when it is printed.
    static func terminalSafe(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars { out.append(isControl(scalar) ? "\u{FFFD}" : scalar) }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\n" && scalar != "\t") || (0x7F...0x9F).contains(scalar.value)
    }

    /// A metric or parameter value for a cell: numbers with four significant digits.
    static func cell(_ value: ParameterValue?) -> String {
        switch value {
        case nil: ""
        case let .double(number)?: number == number.rounded() && abs(number) < 1e9 ? String(Int(number)) : String(format: "%.4g", number)
        case let value?: value.description
        }
    }

    /// `0.8s`, `12s`, `3:05`, `1:02:03`.
    static func duration(_ seconds: Double?) -> String {
        guard let seconds else { return "" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        if seconds < 60 { return String(format: "%.0fs", seconds) }
        return ProgressDisplay.clock(seconds)
    }

    /// The terminal's width when standard output is one (`COLUMNS` first), else nil.
    static var terminalWidth: Int? {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
