import Foundation
import Tasks

/// Writes one figure into a report directory: `NAME.dat`, `NAME.gp`, then gnuplot draws
/// `NAME.svg` and `NAME.pdf`.
struct FigureRenderer {
    let figure: FigureSpec
    /// The figure's 1-based position in the spec, to name it in errors.
    let number: Int
    let data: ReportData
    let directory: URL
    /// Labels and units for the axis titles and the key.
    var metrics = MetricCatalog()

    /// Writes the figure's files and runs gnuplot.
    /// - Returns: what was written, and whether gnuplot drew it.
    /// - Throws: `ReportError.write` when a file cannot be written (a gnuplot failure is not thrown: it is the outcome).
    /// - Precondition: the figure's name is letters, digits, `-` and `_` (`ReportSpec.parse` checks it), so it stays in `directory`.
    func render() throws(ReportError) -> FigureOutcome {
        precondition(!figure.name.isEmpty && figure.name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") },
                     "figure name '\(figure.name)' must be letters, digits, '-' or '_'")
        if let problem = data.unknownName(in: figure, number: number) {
            return FigureOutcome(figure: figure, state: .unknownName(problem), files: [])
        }
        let name = figure.name
        let notes: [String]
        if figure.kind == .winner {
            let map: WinnerMap
            do { map = try WinnerMap(figure: figure, runs: data.runs) } catch {
                return FigureOutcome(figure: figure, state: .mixedRuns(error.message(figure: figure, number: number)), files: [])
            }
            guard !map.isEmpty else { return FigureOutcome(figure: figure, state: .noData, files: []) }
            try write(map.datText(for: figure), to: "\(name).dat")
            try write(GnuplotScript.winnerText(figure: figure, map: map, experiment: data.experiment, metrics: metrics), to: "\(name).gp")
            notes = []
        } else {
            let points = FigureData(figure: figure, runs: data.runs, metrics: metrics)
            guard !points.isEmpty else { return FigureOutcome(figure: figure, state: .noData, files: []) }
            try write(points.datText(for: figure), to: "\(name).dat")
            let script = GnuplotScript(figure: figure, data: points, experiment: data.experiment, metrics: metrics)
            try write(script.text, to: "\(name).gp")
            notes = [points.pooledWarning(), script.referenceNote].compactMap { $0 }
        }
        var files = ["\(name).dat", "\(name).gp"]
        for old in ["\(name).svg", "\(name).pdf"] {                 // a stale drawing must not pass for a new one
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(old))
        }
        if let failure = Gnuplot.run(script: "\(name).gp", in: directory) {
            return FigureOutcome(figure: figure, state: .failed(failure), files: files, notes: notes)
        }
        let drawn = ["\(name).svg", "\(name).pdf"]
        let missing = drawn.filter { !FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }
        guard missing.isEmpty else {
            return FigureOutcome(figure: figure, state: .failed("\(directory.appendingPathComponent("\(name).gp").path): gnuplot succeeded "
                                                                 + "but did not write \(missing.joined(separator: ", "))"), files: files, notes: notes)
        }
        files += drawn
        return FigureOutcome(figure: figure, state: .drawn, files: files, notes: notes)
    }

    private func write(_ text: String, to name: String) throws(ReportError) {
        let url = directory.appendingPathComponent(name)
        do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
            throw .write(path: url.path, message: error.localizedDescription)
        }
    }
}
