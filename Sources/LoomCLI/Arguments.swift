import Tasks
/// One option a command accepts: `--name value` (or `--name=value`), or a bare switch `--name`.
struct Option: Sendable {
    /// The name without dashes, e.g. `sizes`.
    let name: String
    /// The placeholder shown in help for the value, e.g. `N,N,…`; nil for a switch.
    let valueName: String?
    /// One line for `--help`; mention the default here.
    let help: String
    /// Whether the option may be given several times (`--param a=1 --param b=2`).
    var isRepeatable = false

    /// An option that takes a value.
    static func value(_ name: String, _ valueName: String, _ help: String) -> Option {
        Option(name: name, valueName: valueName, help: help)
    }

    /// An option that takes a value and may be given several times.
    static func repeated(_ name: String, _ valueName: String, _ help: String) -> Option {
        Option(name: name, valueName: valueName, help: help, isRepeatable: true)
    }

    /// A switch that takes no value.
    static func flag(_ name: String, _ help: String) -> Option {
        Option(name: name, valueName: nil, help: help)
    }

    /// `--name VALUE` or `--name`, as help prints it.
    var synopsis: String { valueName.map { "--\(name) \($0)" } ?? "--\(name)" }
}

/// The options given to one command, checked against its declared options, with typed accessors
/// whose errors name the option, the bad value and what would be accepted.
struct Arguments {
    /// The command as typed, e.g. `loom bench attention`, for error messages.
    let command: String
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    private var lists: [String: [String]] = [:]
    /// The words that are not options, in order (for commands that accept them).
    private(set) var positionals: [String] = []

    /// Parses `words` against `options`.
    /// - Returns: nil when `--help` or `-h` was given (the caller prints help and exits 0).
    /// - Parameter acceptsOverrides: positional words include `key=value` overrides, so an unknown
    ///   `--key=value` is probably one written like an option, and the error says how to write it.
    /// - Throws: `CommandError.usage` for an unknown option (with the nearest known one), a missing
    ///   value, a value given to a switch, an option given twice, or a stray positional word.
    static func parse(_ words: [String], command: String, options: [Option],
                      acceptsPositionals: Bool = false, acceptsOverrides: Bool = false) throws(CommandError) -> Arguments? {
        if words.contains("--help") || words.contains("-h") { return nil }
        var result = Arguments(command: command)
        let byName = Dictionary(options.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("-"), word.count > 1 else {
                if acceptsPositionals {
                    result.positionals.append(word)
                    continue
                }
                throw .usage("unexpected argument '\(word)' for '\(command)'; options start with '--'")
            }
            let body = word.drop(while: { $0 == "-" })
            let name: String, inline: String?
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                inline = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
                inline = nil
            }
            guard let option = byName[name], word.hasPrefix("--") else {
                let spelled = inline == nil ? word : String(word.prefix(while: { $0 != "=" }))
                var message = "unknown option '\(spelled)' for '\(command)'"
                if let near = nearestName(to: name, among: options.map(\.name)) {
                    message += "; did you mean '--\(near)'?"
                } else if acceptsOverrides && !name.isEmpty {
                    message += "; to set a parameter or key, write an override without dashes after the file: '\(name)=\(inline ?? "VALUE")'"
                }
                throw .usage(message)
            }
            guard option.isRepeatable || (result.values[name] == nil && !result.switches.contains(name)) else {
                throw .usage("option '--\(name)' given twice for '\(command)'; give it once")
            }
            if let valueName = option.valueName {
                if let inline {
                    result.values[name] = inline
                    result.lists[name, default: []].append(inline)
                } else if index < words.count {
                    // Taken even when it starts with '-': `--scale -0.5` is a negative number.
                    result.values[name] = words[index]
                    result.lists[name, default: []].append(words[index])
                    index += 1
                } else {
                    throw .usage("option '--\(name)' for '\(command)' needs a value: --\(name) \(valueName)")
                }
            } else {
                guard inline == nil else {
                    throw .usage("option '--\(name)' for '\(command)' is a switch and takes no value; write just '--\(name)'")
                }
                result.switches.insert(name)
            }
        }
        return result
    }

    private init(command: String) { self.command = command }

    /// Whether the switch `--name` was given.
    func flag(_ name: String) -> Bool { switches.contains(name) }

    /// Every value given for a repeatable `--name`, in order.
    func strings(_ name: String) -> [String] { lists[name] ?? [] }

    /// The raw value of `--name`, if given.
    func string(_ name: String) -> String? { values[name] }

    /// The value of `--name`, which must be given.
    func required(_ name: String, _ what: String) throws(CommandError) -> String {
        guard let value = values[name] else {
            throw .usage("'\(command)' needs --\(name) (\(what))")
        }
        return value
    }

    /// The integer value of `--name`, at least `minimum`, or nil when not given.
    func int(_ name: String, minimum: Int, maximum: Int = .max) throws(CommandError) -> Int? {
        guard let text = values[name] else { return nil }
        guard let value = Int(text) else {
            throw .usage("--\(name) expects a whole number, got '\(text)'")
        }
        guard value >= minimum else {
            throw .usage("--\(name) must be at least \(minimum), got \(value)")
        }
        guard value <= maximum else {
            throw .usage("--\(name) must be at most \(maximum), got \(value)")
        }
        return value
    }

    /// The comma-separated positive integers of `--name`, e.g. `1024,2048`, or nil when not given.
    func intList(_ name: String) throws(CommandError) -> [Int]? {
        guard let text = values[name] else { return nil }
        var list: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingSpaces
            guard let value = Int(trimmed), value >= 1 else {
                throw .usage("--\(name) expects comma-separated positive whole numbers such as 1024,2048; '\(trimmed)' in '\(text)' is not one")
            }
            list.append(value)
        }
        return list
    }

    /// The longest wait, timeout or grace any option takes: a year, far past any run and far
    /// from overflowing the `Duration` it becomes.
    static let longestSeconds: Double = 365 * 24 * 3600

    /// The seconds `--name` gives (finite, positive, at most `longestSeconds`), or nil when not given.
    func seconds(_ name: String, minimum: Double? = nil) throws(CommandError) -> Double? {
        guard let text = values[name] else { return nil }
        guard let value = Double(text), value.isFinite, value > 0 else {
            throw .usage("--\(name) expects a positive number of seconds, got '\(text)'")
        }
        if let minimum, value < minimum {
            throw .usage("--\(name) \(text) is shorter than \(String(format: "%g", minimum)) s; give at least \(String(format: "%g", minimum)) seconds")
        }
        guard value <= Self.longestSeconds else {
            throw .usage("--\(name) \(text) is longer than a year; give at most \(Int(Self.longestSeconds)) seconds")
        }
        return value
    }

    /// The finite, positive float value of `--name`, or nil when not given.
    func positiveFloat(_ name: String) throws(CommandError) -> Float? {
        guard let text = values[name] else { return nil }
        guard let value = Float(text), value.isFinite, value > 0 else {
            throw .usage("--\(name) expects a finite positive number, got '\(text)'")
        }
        return value
    }

    /// The value of `--name` as one of `T`'s raw values, or nil when not given.
    func choice<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) throws(CommandError) -> T?
    where T.RawValue == String {
        guard let text = values[name] else { return nil }
        if let value = T(rawValue: text) { return value }
        let allowed = T.allCases.map(\.rawValue)
        var message = "--\(name) must be one of \(allowed.joined(separator: ", ")); got '\(text)'"
        if let near = nearestName(to: text, among: allowed) { message += "; did you mean '\(near)'?" }
        throw .usage(message)
    }
}

extension Substring {
    /// The text without leading and trailing spaces (Foundation-free, for argument values).
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
