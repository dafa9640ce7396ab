import Foundation

/// A list of hosts to start workers on: one host per line, optionally `slots=N` (workers on that
/// host), `#` comments and blank lines ignored.
///
///     # name            workers
///     node01            slots=2
///     alice@node02.lab
///
/// Host names are checked because each one is handed to a remote shell program (ssh) as its
/// destination argument: letters, digits, `.`, `-`, `_`, `:` (IPv6), an optional `user@`, never a
/// leading `-` (which ssh would read as an option).
public struct Hostfile: Sendable, Equatable {
    public struct Host: Sendable, Equatable {
        /// The destination as the remote shell takes it: `host` or `user@host`.
        public var destination: String
        /// Workers to start there.
        public var slots: Int
        /// The line it came from (1-based).
        public var line: Int
    }

    /// A problem with the file, at `line`:`column` (1-based).
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var file: String, line: Int, column: Int, message: String
        public var description: String { "\(file):\(line):\(column): \(message)" }
    }

    public static let maximumHosts = 4096
    public static let maximumSlots = 256
    public static let maximumBytes = 1 << 20

    public var hosts: [Host]

    /// Every worker to start: (host, index on that host), host by host.
    public var workers: [(host: Host, index: Int)] { hosts.flatMap { host in (0..<host.slots).map { (host, $0) } } }

    /// Reads `path`.
    /// - Parameter defaultSlots: workers on a host whose line gives no `slots=`.
    /// - Throws: `HostfileError` with the file's problems (the first 20), or one naming an
    ///   unreadable or oversized file.
    public static func load(_ path: String, defaultSlots: Int = 1) throws(HostfileError) -> Hostfile {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attributes?[.size] as? Int else {
            throw HostfileError(problems: [Problem(file: path, line: 1, column: 1, message: "cannot read the hostfile; give the path of a text file with one host per line")])
        }
        guard size <= maximumBytes else {
            throw HostfileError(problems: [Problem(file: path, line: 1, column: 1, message: "the hostfile has \(size) bytes, more than \(maximumBytes); list at most \(maximumHosts) hosts")])
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw HostfileError(problems: [Problem(file: path, line: 1, column: 1, message: "the hostfile is not UTF-8 text")])
        }
        return try parse(text, file: path, defaultSlots: defaultSlots)
    }

    /// Parses hostfile text; `file` names it in problems.
    public static func parse(_ text: String, file: String = "hostfile", defaultSlots: Int = 1) throws(HostfileError) -> Hostfile {
        var problems: [Problem] = []
        func problem(_ line: Int, _ column: Int, _ message: String) {
            if problems.count < 20 { problems.append(Problem(file: file, line: line, column: column, message: message)) }
        }
        guard (1...maximumSlots).contains(defaultSlots) else {
            throw HostfileError(problems: [Problem(file: file, line: 1, column: 1, message: "--workers-per-host \(defaultSlots) is outside 1...\(maximumSlots)")])
        }
        var hosts: [Host] = []
        var seen: [String: Int] = [:]
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            let content = raw.prefix { $0 != "#" }
            let fields = content.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let name = fields.first else { continue }
            let column = content.distance(from: content.startIndex, to: name.startIndex) + 1
            if let reason = destinationProblem(String(name)) {
                problem(number, column, "'\(name.prefix(40))' is not a host: \(reason)")
                continue
            }
            var slots = defaultSlots
            for field in fields.dropFirst() {
                let at = content.distance(from: content.startIndex, to: field.startIndex) + 1
                guard field.hasPrefix("slots="), let n = Int(field.dropFirst(6)), (1...maximumSlots).contains(n) else {
                    problem(number, at, "'\(field.prefix(40))' is not slots=N with N in 1...\(maximumSlots); a line is a host and optionally slots=N")
                    continue
                }
                slots = n
            }
            if let first = seen[String(name)] {
                problem(number, column, "\(name) is listed again (first on line \(first)); give one line per host with slots=N")
                continue
            }
            seen[String(name)] = number
            hosts.append(Host(destination: String(name), slots: slots, line: number))
            if hosts.count > maximumHosts {
                throw HostfileError(problems: problems + [Problem(file: file, line: number, column: 1, message: "more than \(maximumHosts) hosts; split the cluster")])
            }
        }
        guard problems.isEmpty else { throw HostfileError(problems: problems) }
        guard !hosts.isEmpty else {
            throw HostfileError(problems: [Problem(file: file, line: 1, column: 1, message: "the hostfile lists no host; give one host name per line")])
        }
        return Hostfile(hosts: hosts)
    }

    /// Why `name` cannot be a destination, or nil.
    static func destinationProblem(_ name: String) -> String? {
        let parts = name.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return "more than one '@'" }
        let host = parts.last!
        if parts.count == 2 {
            let user = parts[0]
            guard let first = user.unicodeScalars.first, ("a"..."z").contains(first) || ("A"..."Z").contains(first) || first == "_",
                  user.unicodeScalars.allSatisfy({ isNameScalar($0) && $0 != ":" && $0 != "." }) else {
                return "a user name is letters, digits, '-' and '_', starting with a letter or '_'"
            }
        }
        guard !host.isEmpty, host.count <= 253 else { return "a host name has 1 to 253 characters" }
        guard host.first != "-" else { return "a host name cannot start with '-'" }
        guard host.unicodeScalars.allSatisfy(isNameScalar) else { return "a host name is letters, digits, '.', '-', '_' and ':'" }
        return nil
    }

    private static func isNameScalar(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "." || s == "-" || s == "_" || s == ":"
    }
}

/// The problems of a hostfile, each at its place.
public struct HostfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [Hostfile.Problem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
