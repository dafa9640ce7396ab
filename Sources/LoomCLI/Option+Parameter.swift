import Tasks

extension Option {
    /// The option for a declared parameter: `d_model` becomes `--d-model`, its help and default
    /// come from the declaration, so a kind's parameters and a command's options never drift.
    /// - Parameter help: words to use instead of the declaration's (the default is still added).
    static func parameter(_ spec: ParameterSpec, help: String? = nil) -> Option {
        var text = help ?? spec.help
        if let choices = spec.choices, help != nil { text += ": " + choices.joined(separator: ", ") }
        if let value = spec.defaultValue { text += " (default \(value.description))" }
        return .value(optionName(spec.name), spec.type.rawValue.uppercased(), text)
    }

    /// `d_model` → `d-model`: parameter names as command-line options.
    static func optionName(_ parameter: String) -> String { parameter.replacingOccurrences(of: "_", with: "-") }
}
