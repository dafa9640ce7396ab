/// The problems found while checking an experiment, so that one pass reports all of them.
///
/// A class, so the parser's helpers can record into it while reading the parser's other state.
/// It stops the check (throws) after `maximumCount` problems: a generated file with a mistake on
/// each of 80,000 lines gets a readable list, not 80,000 lines of output.
final class DiagnosticLog {
    static let maximumCount = 50

    /// The file being checked: its problems come before those of other files (an `extends`
    /// base, a rows CSV), and command-line overrides come last.
    let mainFile: String
    private var diagnostics: [ExperimentError.Diagnostic] = []

    init(mainFile: String) { self.mainFile = mainFile }

    var isEmpty: Bool { diagnostics.isEmpty }

    /// Records every problem of `error`.
    /// - Throws: everything recorded so far once there are `maximumCount` problems.
    func record(_ error: ExperimentError) throws(ExperimentError) {
        diagnostics += error.diagnostics
        if diagnostics.count >= DiagnosticLog.maximumCount {
            throw ExperimentError(sorted() + [ExperimentError.Diagnostic(
                file: mainFile, line: 0, column: 0,
                "stopped after \(diagnostics.count) problems; fix these and check the file again")])
        }
    }

    /// Runs `body`, recording its error instead of throwing it.
    /// - Returns: the body's result, or nil when it failed.
    /// - Throws: only when the log is full.
    func attempt<T>(_ body: () throws(ExperimentError) -> T) throws(ExperimentError) -> T? {
        do throws(ExperimentError) { return try body() } catch {
            try record(error)
            return nil
        }
    }

    /// - Throws: every recorded problem as one error, if there is any.
    func finish() throws(ExperimentError) {
        if !diagnostics.isEmpty { throw ExperimentError(sorted()) }
    }

    /// The main file's problems by line and column, then other files' by name, line and
    /// column, then those without a line (overrides) in the order found.
    /// - Complexity: O(n log n).
    private func sorted() -> [ExperimentError.Diagnostic] {
        diagnostics.enumerated().sorted { a, b in
            func key(_ item: (offset: Int, element: ExperimentError.Diagnostic)) -> (Int, String, Int, Int, Int) {
                let d = item.element
                let group = d.line == 0 ? 2 : (d.file == mainFile ? 0 : 1)
                return (group, group == 1 ? d.file : "", d.line, d.column, item.offset)
            }
            return key(a) < key(b)
        }.map(\.element)
    }
}
