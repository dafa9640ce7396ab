import Experiments
import Foundation
import Reports
import Tasks

/// `` `{loom} metric(experiment=E, name=N, stat=median, digits=3, KEY=VALUE…)` `` in prose: a number
/// from the store, so the text and the figures never disagree. KEY=VALUE pairs keep the runs
/// whose parameter KEY prints as VALUE; the statistic is over the SUCCEEDED and CACHED runs of
/// the experiment's latest invocation.
struct InlineValue: Equatable {
    static let prefix = "`{loom} "

    var experiment: String
    var name: String
    var stat: String
    var digits: Int
    var filters: [(key: String, value: String)]

    static func == (a: InlineValue, b: InlineValue) -> Bool {
        a.experiment == b.experiment && a.name == b.name && a.stat == b.stat && a.digits == b.digits
            && a.filters.map(\.key) == b.filters.map(\.key) && a.filters.map(\.value) == b.filters.map(\.value)
    }

    static let stats = ["median", "mean", "min", "max", "count"]

    /// Parses the text between `` `{loom} `` and the closing backquote.
    static func parse(_ text: String) throws(NotebookInputError) -> InlineValue {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("metric("), trimmed.hasSuffix(")") else {
            throw NotebookInputError("an inline value is written `{loom} metric(experiment=E, name=N)`; got '\(trimmed.prefix(60))'")
        }
        var values: [(String, String)] = []
        for part in trimmed.dropFirst(7).dropLast().split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, !pair[0].isEmpty else { throw NotebookInputError("'\(part.trimmingCharacters(in: .whitespaces))' is not key=value") }
            values.append((pair[0], pair[1]))
        }
        func take(_ key: String) -> String? {
            guard let index = values.firstIndex(where: { $0.0 == key }) else { return nil }
            return values.remove(at: index).1
        }
        guard let experiment = take("experiment"), let name = take("name") else {
            throw NotebookInputError("an inline value needs experiment= and name=")
        }
        let stat = take("stat") ?? "median"
        guard stats.contains(stat) else { throw NotebookInputError("stat=\(stat) is not one of \(stats.joined(separator: ", "))") }
        let digitsText = take("digits") ?? "3"
        guard let digits = Int(digitsText), (1...12).contains(digits) else { throw NotebookInputError("digits=\(digitsText) is not 1…12") }
        return InlineValue(experiment: experiment, name: name, stat: stat, digits: digits, filters: values.map { (key: $0.0, value: $0.1) })
    }

    /// The value, formatted with `digits` significant digits (a count as an integer).
    func evaluate(_ data: ReportData) throws(NotebookInputError) -> String {
        // A misspelt name or filter would count 0 or match nothing, silently.
        let parameters = Set(data.runs.flatMap { Array($0.params.keys) })
        let names = parameters.union(data.runs.flatMap { Array($0.metrics.keys) })
        for (key, known) in [(name, names)] + filters.map({ ($0.key, parameters) }) where !known.contains(key) {
            let near = NotebookParser.nearest(key, among: known.sorted()).map { "; did you mean '\($0)'?" } ?? ""
            throw NotebookInputError("experiment '\(experiment)': no run has \(key == name ? "'\(key)'" : "a parameter '\(key)'")\(near)")
        }
        let runs = data.runs.filter { run in
            (run.status == .succeeded || run.status == .cached)
                && filters.allSatisfy { filter in run.params[filter.key].map { InlineValue.matches($0, filter.value) } ?? false }
        }
        let numbers = runs.compactMap { $0.value(name)?.number }
        if stat == "count" { return String(numbers.count) }
        guard !numbers.isEmpty else {
            let known = Set(data.runs.flatMap { Array($0.metrics.keys) + Array($0.params.keys) }).sorted()
            let hint = known.contains(name) ? "no finished run matches the filters" : "no run has '\(name)' (known: \(known.prefix(12).joined(separator: ", ")))"
            throw NotebookInputError("experiment '\(experiment)': \(hint)")
        }
        let sorted = numbers.sorted()
        let value: Double = switch stat {
        case "mean": numbers.reduce(0, +) / Double(numbers.count)
        case "min": sorted.first!
        case "max": sorted.last!
        default: Numbers.median(sorted)
        }
        return String(format: "%.\(digits)g", value)
    }

    /// Whether a parameter's value is the one written: as printed, or as the same number
    /// (`link_gbps=1` matches 1.0).
    static func matches(_ value: ParameterValue, _ written: String) -> Bool {
        if "\(value)" == written { return true }
        guard let number = value.number, let wanted = Double(written) else { return false }
        return number == wanted
    }

    /// The inline values in a prose line: (range of the whole `…` span, the parsed value or its error).
    static func occurrences(in text: String) -> [(range: Range<String.Index>, value: Result<InlineValue, NotebookInputError>)] {
        var found: [(Range<String.Index>, Result<InlineValue, NotebookInputError>)] = []
        var search = text.startIndex..<text.endIndex
        while let start = text.range(of: prefix, range: search) {
            guard let end = text[start.upperBound...].firstIndex(of: "`") else { break }
            let inner = String(text[start.upperBound..<end])
            found.append((start.lowerBound..<text.index(after: end), Result { () throws(NotebookInputError) in try parse(inner) }))
            search = text.index(after: end)..<text.endIndex
        }
        return found
    }
}

/// A problem with what a cell or an inline value asks for (shown in place).
struct NotebookInputError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
