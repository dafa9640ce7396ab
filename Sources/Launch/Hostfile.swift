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
            var slotsGiven = false
            for field in fields.dropFirst() {
                let at = content.distance(from: content.startIndex, to: field.startIndex) + 1
                guard field.hasPrefix("slots="), let n = Int(field.dropFirst(6)), (1...maximumSlots).contains(n) else {
                    problem(number, at, "'\(field.prefix(40))' is not slots=N with N in 1...\(maximumSlots); a line is a host and optionally slots=N")
                    continue
                }
                if slotsGiven {
                    problem(number, at, "slots= is given twice on this line; give it once")
                    continue
                }
                slotsGiven = true
                slots = n
            }
            // Host names are case-blind (node01 and NODE01 are one machine): each once, or its
            // workers would start twice as many times as asked.
            let key = duplicateKey(String(name))
            if let first = seen[key] {
                problem(number, column, "\(name) is listed again (first on line \(first)); give one line per host with slots=N")
                continue
            }
            seen[key] = number
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
        // An IPv6 address has two colons or more; one colon is a host:port, which ssh would take as a name.
        if host.filter({ $0 == ":" }).count == 1 {
            return "host:port is not taken; set the port for that host in ~/.ssh/config (Host NAME, Port N)"
        }
        return nil
    }

    /// `user@host` with the host lowercased: two lines with the same key name one destination.
    static func duplicateKey(_ destination: String) -> String {
        guard let at = destination.lastIndex(of: "@") else { return destination.lowercased() }
        return String(destination[...at]) + destination[destination.index(after: at)...].lowercased()
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
