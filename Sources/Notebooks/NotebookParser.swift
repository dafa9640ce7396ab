import Experiments
import Foundation

/// Reads a notebook's text into front matter, prose and cells, naming every problem at its line.
public enum NotebookParser {
    /// The largest notebook read, checked before reading.
    public static let maximumBytes = 4 << 20

    public static func load(_ path: String) throws(NotebookError) -> Notebook {
        let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int
        guard let size else { throw NotebookError(file: path, line: 1, "cannot read the notebook; give the path of a Markdown file") }
        guard size <= maximumBytes else {
            throw NotebookError(file: path, line: 1, "the notebook has \(size) bytes, more than \(maximumBytes); split it")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw NotebookError(file: path, line: 1, "the notebook is not UTF-8 text")
        }
        return try parse(text, file: path)
    }

    public static func parse(_ text: String, file: String) throws(NotebookError) -> Notebook {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.hasSuffix("\r") ? $0.dropLast() : $0[...]) }
        var problems: [NotebookError.Problem] = []
        func problem(_ line: Int, _ message: String) { problems.append(.init(file: file, line: line, message)) }

        var index = 0
        var front = Notebook.FrontMatter()
        if lines.first == "---" {
            guard let end = lines.dropFirst().firstIndex(of: "---") else {
                throw NotebookError(file: file, line: 1, "the front matter opened here is never closed; end it with a line '---'")
            }
            front = parseFront(lines[1..<end].joined(separator: "\n"), file: file, problem: problem)
            index = end + 1
        }

        var blocks: [Notebook.Block] = []
        var prose: [String] = [], proseLine = index + 1
        func flushProse() {
            if !prose.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                blocks.append(.prose(prose.joined(separator: "\n"), line: proseLine))
            }
            prose = []
        }
        var labels: [String: Int] = [:]
        while index < lines.count {
            let line = lines[index]
            let number = index + 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("```") else {
                if prose.isEmpty { proseLine = number }
                prose.append(line)
                index += 1
                continue
            }
            let fence = String(trimmed.prefix(while: { $0 == "`" }))
            let info = trimmed.dropFirst(fence.count).trimmingCharacters(in: .whitespaces)
            guard let close = lines[(index + 1)...].firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == fence }) else {
                problem(number, "this code fence is never closed; end it with a line '\(fence)'")
                break
            }
            guard info.hasPrefix("{") else {
                // A plain code block (```swift, ```) is prose: shown, never run.
                if prose.isEmpty { proseLine = number }
                prose += lines[index...close]
                index = close + 1
                continue
            }
            flushProse()
            defer { index = close + 1 }
            guard info.hasSuffix("}") else { problem(number, "a cell's kind is written in braces, e.g. ```{loom-plot}"); continue }
            let name = String(info.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
            guard let kind = Notebook.CellKind(rawValue: name) else {
                let known = Notebook.CellKind.allCases.map(\.rawValue)
                let near = nearest(name, among: known).map { "; did you mean '\($0)'?" } ?? ""
                problem(number, "unknown cell kind '\(name)'\(near) (known: \(known.joined(separator: ", ")))")
                continue
            }
            var options: [(key: String, value: String)] = []
            var bodyStart = index + 1
            while bodyStart < close, lines[bodyStart].hasPrefix("#|") {
                let option = lines[bodyStart].dropFirst(2)
                guard let colon = option.firstIndex(of: ":") else {
                    problem(bodyStart + 1, "a cell option is written '#| key: value'")
                    bodyStart += 1
                    continue
                }
                let key = option[..<colon].trimmingCharacters(in: .whitespaces)
                let value = option[option.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if !Notebook.optionKeys.contains(key) {
                    let near = nearest(key, among: Notebook.optionKeys).map { "; did you mean '\($0)'?" } ?? ""
                    problem(bodyStart + 1, "unknown cell option '\(key)'\(near) (known: \(Notebook.optionKeys.joined(separator: ", ")))")
                } else if options.contains(where: { $0.key == key }) {
                    problem(bodyStart + 1, "the option '\(key)' is given twice")
                } else {
                    options.append((key, value))
                }
                bodyStart += 1
            }
            let cell = Notebook.Cell(kind: kind, options: options, body: lines[bodyStart..<close].joined(separator: "\n"),
                                     line: number, bodyLine: bodyStart + 1)
            if let label = cell.label {
                if !label.hasPrefix("fig-") && !label.hasPrefix("tbl-") || label.count < 5
                    || !label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
                    problem(number, "label '\(label)' must start with fig- (a figure) or tbl- (a table), then letters, digits, '-' or '_'")
                } else if let first = labels[label] {
                    problem(number, "label '\(label)' is used twice (first on line \(first))")
                } else {
                    labels[label] = number
                }
            }
            if let width = cell.option("width"), !(width.hasSuffix("%") ? Int(width.dropLast()).map { (1...100).contains($0) } ?? false : Int(width).map { (1...4000).contains($0) } ?? false) {
                problem(number, "width '\(width)' must be a percentage (e.g. 80%) or pixels (e.g. 640)")
            }
            if let echo = cell.option("echo"), echo != "true", echo != "false" { problem(number, "echo must be true or false, not '\(echo)'") }
            blocks.append(.cell(cell))
        }
        flushProse()

        // Cross-references name labels that exist.
        for case let .prose(text, start) in blocks {
            for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                for reference in CrossReference.references(in: String(line)) where labels[reference] == nil {
                    problem(start + offset, "@\(reference) refers to no cell; label a cell '#| label: \(reference)'")
                }
            }
        }
        guard problems.isEmpty else { throw NotebookError(problems) }
        return Notebook(file: file, front: front, blocks: blocks)
    }

    private static func parseFront(_ text: String, file: String, problem: (Int, String) -> Void) -> Notebook.FrontMatter {
        var front = Notebook.FrontMatter()
        // Offset by the opening '---' so marks are the notebook's own lines.
        let node: YAMLNode
        do { node = try YAMLReader.parse(Array(("\n" + text).utf8), file: file) } catch {
            problem(error.line, "the front matter is not YAML: \(error.diagnostics[0].message)")
            return front
        }
        guard case let .mapping(entries, _) = node else {
            if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { problem(2, "the front matter is a mapping such as 'title: …'") }
            return front
        }
        for entry in entries {
            switch entry.key {
            case "title": front.title = entry.value.scalarText ?? front.title
            case "state": front.state = entry.value.scalarText
            case "authors":
                if case let .sequence(items, _) = entry.value { front.authors = items.compactMap(\.scalarText) }
                else if let one = entry.value.scalarText { front.authors = [one] }
            case "date", "description", "defaults": break
            default: problem(entry.keyMark.line, "unknown front matter key '\(entry.key)' (known: title, authors, state, date, description)")
            }
        }
        return front
    }

    /// The known name nearest to `name` by edit distance, when close enough to be a typo.
    static func nearest(_ name: String, among known: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for (i, ca) in a.enumerated() {
                var previous = row[0]
                row[0] = i + 1
                for (j, cb) in b.enumerated() {
                    let current = row[j + 1]
                    row[j + 1] = min(row[j + 1] + 1, row[j] + 1, previous + (ca == cb ? 0 : 1))
                    previous = current
                }
            }
            return row[b.count]
        }
        let scored = known.map { ($0, distance(Array(name), Array($0))) }.min { $0.1 < $1.1 }
        guard let scored, scored.1 <= max(2, name.count / 3) else { return nil }
        return scored.0
    }
}

/// `@fig-name` and `@tbl-name` in prose.
enum CrossReference {
    /// The labels referred to in `line`, in order (an e-mail address such as a@fig-x.org is not one).
    static func references(in line: String) -> [String] {
        var found: [String] = []
        var characters = Array(line)[...]
        var previous: Character = " "
        while let at = characters.firstIndex(of: "@") {
            let before = at > characters.startIndex ? characters[at - 1] : previous
            let rest = characters[(at + 1)...]
            let word = String(rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
            let label = word.hasSuffix("-") || word.hasSuffix("_") ? String(word.dropLast()) : word
            if !(before.isLetter || before.isNumber), label.hasPrefix("fig-") || label.hasPrefix("tbl-"), label.count > 4 {
                found.append(label)
            }
            previous = "@"
            characters = rest
        }
        return found
    }
}
