/// A task kind's parameters as a Swift type, decoded once from resolved values.
///
/// The declaration is the one place a kind's parameters are described: it gives the schema that
/// experiment files and `loom submit` are checked against (types, defaults, bounds, choices), the
/// help text and the suggestions. The kind's body and its cross-parameter check then read typed
/// fields, never a dictionary.
public protocol TaskParameters: Sendable {
    /// The declared parameters, in the order help text lists them.
    static var declaration: [ParameterSpec] { get }
    /// Reads resolved values: every declared parameter is present, of its declared type.
    init(_ values: ResolvedParameters)
    /// Checks the parameters against each other and the gang size before anything runs.
    /// - Throws: `ParameterProblem` saying what is wrong and how to fix it.
    func check(gangSize: Int) throws(ParameterProblem)
}

extension TaskParameters {
    public func check(gangSize: Int) throws(ParameterProblem) {}
}

/// Why parameters cannot run, in words a user can act on.
public struct ParameterProblem: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Parameter values after resolution against a declaration, read by name and type.
///
/// Resolution has put every declared parameter here with its declared type, so a read that
/// finds nothing, or another type, is a mistake in Loom's own code (a name missing from the
/// declaration): it stops with a precondition instead of reading a silent 0.
public struct ResolvedParameters: Sendable {
    /// The values by name, as the wire and the store carry them.
    public let values: [String: ParameterValue]

    public init(_ values: [String: ParameterValue]) { self.values = values }

    public func int(_ name: String) -> Int {
        guard case let .int(value)? = values[name] else { missing(name, "int") }
        return value
    }

    /// A double parameter (an int given for it widens).
    public func double(_ name: String) -> Double {
        guard let value = values[name]?.number else { missing(name, "double") }
        return value
    }

    public func string(_ name: String) -> String {
        guard case let .string(value)? = values[name] else { missing(name, "string") }
        return value
    }

    public func bool(_ name: String) -> Bool {
        guard case let .bool(value)? = values[name] else { missing(name, "bool") }
        return value
    }

    private func missing(_ name: String, _ type: String) -> Never {
        preconditionFailure("parameter '\(name)' read as \(type) but resolved to \(values[name].map { "\($0)" } ?? "nothing"): "
                            + "is it in the kind's declaration, with that type?")
    }
}

extension [ParameterSpec] {
    /// `given` checked against these declarations, with defaults filled in.
    /// - Parameter kind: the kind's name, for messages.
    /// - Returns: every declared parameter with a value of its declared type.
    /// - Throws: `ParameterProblem` naming an unknown key (with the nearest known one), a value of
    ///   the wrong type, one its spec refuses (not finite, out of range, not a choice), or a
    ///   missing required parameter.
    public func resolve(_ given: [String: ParameterValue], kind: String) throws(ParameterProblem) -> [String: ParameterValue] {
        var resolved: [String: ParameterValue] = [:]
        let known = map(\.name)
        for key in given.keys.sorted() where !known.contains(key) {
            var message = "kind '\(kind)' has no parameter '\(key)'"
            if let near = nearestName(to: key, among: known) { message += "; did you mean '\(near)'?" }
            message += known.isEmpty ? " (it takes none)" : " (it takes: \(known.joined(separator: ", ")))"
            throw ParameterProblem(message)
        }
        for spec in self {
            if let value = given[spec.name] {
                guard let typed = spec.coerce(value) else {
                    throw ParameterProblem("parameter '\(spec.name)' of kind '\(kind)' must be \(spec.type.rawValue); got '\(value)'")
                }
                if let problem = spec.problem(with: typed) { throw ParameterProblem("kind '\(kind)': \(problem)") }
                resolved[spec.name] = typed
            } else if let fallback = spec.defaultValue {
                resolved[spec.name] = fallback
            } else {
                throw ParameterProblem("kind '\(kind)' needs parameter '\(spec.name)' (\(spec.type.rawValue): \(spec.help))")
            }
        }
        return resolved
    }
}
