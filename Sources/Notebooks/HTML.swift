import Reports

/// HTML for notebook pages: escaping, and the Markdown of prose (headings, paragraphs, lists,
/// emphasis, code, links), with every piece of text escaped, so a notebook cannot inject markup.
enum HTML {
    static func escape(_ text: String) -> String { Escaping.html(text) }

    /// A URL kept only when it is relative or http(s) (no `javascript:` and the like).
    static func safeURL(_ url: String) -> String? {
        let lowered = url.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("#") { return url }
        return url.contains(":") ? nil : url
    }

    /// Markdown prose to HTML: blocks separated by blank lines; `#` headings, `-`/`*` lists,
    /// fenced code kept verbatim, the rest paragraphs.
    static func prose(_ text: String) -> String {
        var out: [String] = []
        var paragraph: [String] = [], list: [String] = []
        var code: [String]?
        func flush() {
            if !paragraph.isEmpty { out.append("<p>" + inline(paragraph.joined(separator: " ")) + "</p>"); paragraph = [] }
            if !list.isEmpty { out.append("<ul>" + list.map { "<li>\(inline($0))</li>" }.joined() + "</ul>"); list = [] }
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if code != nil {
                if trimmed.hasPrefix("```") { out.append("<pre><code>" + escape(code!.joined(separator: "\n")) + "</code></pre>"); code = nil }
                else { code!.append(line) }
                continue
            }
            if trimmed.hasPrefix("```") { flush(); code = []; continue }
            if trimmed.isEmpty { flush(); continue }
            let hashes = trimmed.prefix { $0 == "#" }.count
            if (1...6).contains(hashes), trimmed.dropFirst(hashes).first == " " {
                flush()
                out.append("<h\(hashes)>" + inline(String(trimmed.dropFirst(hashes + 1))) + "</h\(hashes)>")
            } else if trimmed.hasPrefix("- ") || trimmed.hasPrefix("* ") {
                if !paragraph.isEmpty { flush() }
                list.append(String(trimmed.dropFirst(2)))
            } else if !list.isEmpty && line.hasPrefix("  ") {
                list[list.count - 1] += " " + trimmed
            } else {
                if !list.isEmpty { flush() }
                paragraph.append(trimmed)
            }
        }
        if let code { out.append("<pre><code>" + escape(code.joined(separator: "\n")) + "</code></pre>") }
        flush()
        return out.joined(separator: "\n")
    }

    /// Inline Markdown: `code`, **bold**, *emphasis*, [text](url); everything else escaped.
    static func inline(_ text: String) -> String {
        var out = ""
        var rest = Substring(text)
        while let first = rest.first {
            if first == "`", let end = rest.dropFirst().firstIndex(of: "`") {
                out += "<code>" + escape(String(rest[rest.index(after: rest.startIndex)..<end])) + "</code>"
                rest = rest[rest.index(after: end)...]
            } else if rest.hasPrefix("**"), let end = rest.dropFirst(2).range(of: "**") {
                out += "<strong>" + inline(String(rest[rest.index(rest.startIndex, offsetBy: 2)..<end.lowerBound])) + "</strong>"
                rest = rest[end.upperBound...]
            } else if first == "*", let end = rest.dropFirst().firstIndex(of: "*") {
                out += "<em>" + inline(String(rest[rest.index(after: rest.startIndex)..<end])) + "</em>"
                rest = rest[rest.index(after: end)...]
            } else if first == "[", let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix("("),
                      let end = rest[close...].firstIndex(of: ")") {
                let label = String(rest[rest.index(after: rest.startIndex)..<close])
                let url = String(rest[rest.index(close, offsetBy: 2)..<end])
                if let safe = safeURL(url) { out += "<a href=\"\(escape(safe))\">\(inline(label))</a>" } else { out += escape(label) }
                rest = rest[rest.index(after: end)...]
            } else {
                out += escape(String(first))
                rest = rest.dropFirst()
            }
        }
        return out
    }
}
