/// Text for each language a report writes (gnuplot, Graphviz DOT, HTML, Markdown), so a string
/// from an experiment file, a run or the store is shown as itself and never read as code.
///
/// Every user string that reaches a generated file goes through one of these; a writer never
/// quotes text by hand.
public enum Escaping {
    /// `text` as a gnuplot single-quoted string, e.g. `'it''s'`.
    ///
    /// Single quotes because gnuplot runs backquoted commands inside double-quoted strings (also
    /// when a saved `.gp` is run again by hand) and interprets backslash escapes there; inside
    /// single quotes it does neither, and `''` is the only escape. Line breaks and other control
    /// characters become spaces and `�`: a line break would end the command. Enhanced-text markup
    /// (`^ _ @ & ~ { }`) is left as it is: every label Loom writes carries `noenhanced`.
    ///
    /// gnuplot 5.4 reads a single-quoted string that opens with `''` as an empty string and a
    /// second token, so leading quotes go in a double-quoted string of their own (nothing else is
    /// in it to substitute), joined with `.`: `'it'` is `"'" . 'it'''`.
    public static func gnuplot(_ text: String) -> String {
        let line = printable(text, lineBreak: " ")
        let quotes = line.prefix { $0 == "'" }
        let rest = "'" + line.dropFirst(quotes.count).replacingOccurrences(of: "'", with: "''") + "'"
        if quotes.isEmpty { return rest }
        return "\"" + quotes + "\"" + (rest == "''" ? "" : " . " + rest)
    }

    /// `text` made safe in a `#` comment of a gnuplot script or data file: one line that does not
    /// end in a backslash (gnuplot continues a comment ending in `\` onto the next line, which
    /// would swallow the command there).
    public static func gnuplotComment(_ text: String) -> String {
        let line = printable(text, lineBreak: " ")
        return line.hasSuffix("\\") ? line + " (end)" : line
    }

    /// `text` as a double-quoted field of a gnuplot data file (a category label read by `xtic()`).
    ///
    /// gnuplot's data files have no escape inside a quoted field: a `"` ends it, so it becomes `'`,
    /// and a line break would end the row, so it becomes a space.
    public static func gnuplotDataField(_ text: String) -> String {
        "\"" + printable(text, lineBreak: " ").replacingOccurrences(of: "\"", with: "'") + "\""
    }

    /// `text` as a double-quoted DOT ID (a node name, a graph name, an attribute value or a label).
    ///
    /// `"` and `\` are escaped, so `\N`, `\G`, `\E`, `\T`, `\H`, `\L`, `\l`, `\r` and `\n` in the
    /// text are shown as written instead of being expanded by Graphviz; a line break becomes `\n`,
    /// Graphviz's own centred line break, so a multi-line label stays multi-line.
    public static func dot(_ text: String) -> String {
        let escaped = printable(text, lineBreak: "\n").replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
        return "\"" + escaped + "\""
    }

    /// `text` safe inside HTML elements and inside single- or double-quoted attribute values.
    public static func html(_ text: String) -> String {
        var out = ""
        for character in printable(text, lineBreak: "\n") {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A file name as a relative URL for an `href`, a `src` or a Markdown link: every byte but
    /// letters, digits and `-._~` percent-encoded, so the result has no scheme (`javascript:`),
    /// no query, fragment or path separator, and no character HTML or Markdown would read.
    public static func relativeURL(_ fileName: String) -> String {
        var out = ""
        for byte in fileName.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        // "." and ".." are the directory and its parent, not files.
        return out == "." || out == ".." ? out.replacingOccurrences(of: ".", with: "%2E") : out
    }

    /// `text` as inline Markdown: a paragraph, a heading, link text or a table cell.
    ///
    /// The characters that start inline markup are backslash-escaped (`\ ` * _ [ ] < > | & ~ #`),
    /// so no emphasis, link, image, code span, HTML tag, entity or table separator can start in
    /// the text; so is a list marker (`- `, `+ `, `1. `, `1) `) or a heading underline (`===`,
    /// `---`) where the text begins a line. A line break becomes `<br>`, so a value cannot end a
    /// table row or start a block. Other punctuation stays, so `-0.78` and `causal=true` read as written.
    public static func markdown(_ text: String) -> String {
        let characters = Array(printable(text, lineBreak: "\n"))
        var marker: Int?                                           // the one character that would start a block
        func endsMarker(_ index: Int) -> Bool { index == characters.count || characters[index] == " " }
        let digits = characters.prefix { $0.isASCII && $0.isNumber }.count
        if let first = characters.first, "-+".contains(first), endsMarker(1) {
            marker = 0
        } else if let first = characters.first, "-=".contains(first), characters.allSatisfy({ $0 == first || $0 == " " }) {
            marker = 0
        } else if digits > 0, digits < characters.count, ".)".contains(characters[digits]), endsMarker(digits + 1) {
            marker = digits
        }
        var out = ""
        for (offset, character) in characters.enumerated() {
            if character == "\n" {
                out += "<br>"
                continue
            }
            if offset == marker || "\\`*_[]<>|&~#".contains(character) { out.append("\\") }
            out.append(character)
        }
        return out
    }

    /// `text` with each line break (`\r\n`, `\r`, `\n`, U+0085, U+2028, U+2029) replaced by
    /// `lineBreak`, a tab by a space and any other control character by `�`: none of the four
    /// languages has a use for them in a label, and XML (the SVG) forbids most of them.
    static func printable(_ text: String, lineBreak: String) -> String {
        var out = ""
        for character in text {
            if character.isNewline {                               // "\r\n" is one Character
                out += lineBreak
            } else if character == "\t" {
                out.append(" ")
            } else if character.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                out.append("\u{FFFD}")
            } else {
                out.append(character)
            }
        }
        return out
    }
}
