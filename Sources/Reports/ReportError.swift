import Experiments

/// Why a report could not be written, or could only be written in part.
public enum ReportError: Error, CustomStringConvertible {
    /// The results store could not be read.
    case store(StoreError)
    /// The store has no experiment of this name; `known` lists those it has.
    case unknownExperiment(String, known: [String])
    /// A file or directory could not be written.
    case write(path: String, message: String)
    /// The report was written (`index` names its index.html), but some figures could not be drawn;
    /// each failure names the script and what gnuplot said. Their `.gp` and `.dat` files stay.
    case figuresFailed(index: String, failures: [String])
    /// The report was written (`index` names its index.html), but some figures name a metric or
    /// parameter the runs do not have (a typo in `report:`); each problem names the figure, the
    /// key, the nearest known name and the known ones; or a winner figure's cells mix settings of a
    /// parameter it does not show (`FigureOutcome.State.mixedRuns`). Bad input, not a failure at run time.
    case unknownNames(index: String, problems: [String])

    public var description: String {
        switch self {
        case let .store(error):
            return "\(error)"
        case let .unknownExperiment(name, known):
            var message = "no experiment '\(name)' in the results store"
            if let near = Report.nearestExperiment(to: name, among: known) { message += "; did you mean '\(near)'?" }
            return message + (known.isEmpty ? " (it holds none; run one first with 'loom run FILE')"
                                            : " (known: \(known.joined(separator: ", ")))")
        case let .write(path, message):
            return "cannot write \(path): \(message)"
        case let .figuresFailed(index, failures):
            return "report written to \(index), but \(failures.count) figure(s) could not be drawn:\n"
                + failures.map { "  " + $0.replacingOccurrences(of: "\n", with: "\n    ") }.joined(separator: "\n")
        case let .unknownNames(index, problems):
            return "report written to \(index) without \(problems.count) figure(s); fix them in the experiment file's 'report:':\n"
                + problems.map { "  " + $0 }.joined(separator: "\n")
        }
    }
}
