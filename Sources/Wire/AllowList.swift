import Foundation

/// The CURVE public keys a server accepts, as read from an `allowed_keys` file.
///
/// The file holds one Z85 public key per line, optionally followed by whitespace and a name
/// (`rR3…x8 worker-3`) and then an optional `# comment`. Blank lines and lines starting with `#`
/// are ignored. Z85 uses `#` as a digit, but never first: each 5-digit group encodes at most
/// 2³² − 1, so its leading digit is at most `%`, and libzmq refuses text that starts with `#`.
public struct AllowList: Sendable {
    /// One accepted key and the name written after it, if any.
    public struct Entry: Sendable, Hashable {
        /// The client's public key.
        public let key: CurveKey
        /// The name after the key (for logs), or nil.
        public let name: String?

        /// An entry for `key`, named `name` in logs.
        public init(key: CurveKey, name: String? = nil) {
            self.key = key
            self.name = name
        }
    }

    /// The entries in file order, duplicates removed (the first name wins).
    public let entries: [Entry]
    /// The file the list was read from, or nil when built in memory.
    public let path: String?
    private let names: [String: String?]  // key text → name

    /// A list of `entries`; `path` names the file they came from (nil when built in memory, which
    /// `ZAPHandler.reload()` then cannot re-read).
    public init(_ entries: [Entry], path: String? = nil) {
        var seen: [String: String?] = [:]
        var unique: [Entry] = []
        for entry in entries where seen[entry.key.text] == nil {
            seen[entry.key.text] = entry.name
            unique.append(entry)
        }
        self.entries = unique
        self.path = path
        self.names = seen
    }

    /// Reads the allow-list file at `path`.
    /// - Throws: `WireError.keys` naming the path when it cannot be read, or `path:line` and the
    ///   expected form for a bad line.
    public init(contentsOf path: String) throws(WireError) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .keys("\(path): cannot read the allow-list (\(KeyStore.reason(error))); create it with one "
                        + "client public key per line, e.g. 'cat worker-1.pub >> \(path)'")
        }
        try self.init(parsing: text, path: path)
    }

    /// Parses allow-list text; `path` is used in error messages.
    /// - Throws: `WireError.keys` naming `path:line`, what is wrong, and the expected form.
    public init(parsing text: String, path: String) throws(WireError) {
        var entries: [Entry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            guard let first = words.first, !AllowList.isComment(first) else { continue }
            let place = "\(path):\(index + 1)"
            let key: CurveKey
            do {
                key = try CurveKey(text: first)
            } catch {
                throw .keys("\(place): '\(first.prefix(48))' is not a CURVE public key (\(error.detail)); "
                            + "write one 40-character Z85 key per line, optionally followed by a name")
            }
            var rest = words.dropFirst()
            var name: String?
            if let word = rest.first, !word.hasPrefix("#") {
                name = word
                rest = rest.dropFirst()
            }
            if let extra = rest.first, !extra.hasPrefix("#") {
                throw .keys("\(place): unexpected '\(extra.prefix(48))' after the name; write 'KEY [NAME] [# comment]'")
            }
            entries.append(Entry(key: key, name: name))
        }
        self.init(entries, path: path)
    }

    /// Whether `key` is on the list.
    public func contains(_ key: CurveKey) -> Bool { names[key.text] != nil }

    /// The name written after `key`, or nil when it has none or is not on the list.
    public func name(of key: CurveKey) -> String? { names[key.text] ?? nil }

    /// Whether a line whose first word is `word` is a comment (no Z85 key starts with `#`).
    static func isComment(_ word: some StringProtocol) -> Bool { word.hasPrefix("#") }
}
