import Foundation

/// A square matrix drawn as a gnuplot heatmap (attention weights: queries down, keys across),
/// written as `NAME.dat`, a standalone `NAME.gp`, `NAME.svg` and `NAME.pdf`.
public enum Heatmap {
    /// Up to this many tokens the SVG draws one rectangle per entry (`with image pixels`).
    public static let maximumPixelLabels = 128

    /// Writes the heatmap of `values` (`labels.count`² entries, row-major, in 0…1) into
    /// `directory`. Labels name the rows and columns (tokens); blanks are shown as `␣`, line
    /// breaks as `↵`.
    /// - Returns: the files written.
    /// - Throws: `ReportError.write` when a file cannot be written, `.figuresFailed` when gnuplot fails.
    /// - Precondition: `name` is letters, digits, `-`, `_` and `.`, so its files stay in `directory`.
    public static func write(_ values: [Float], labels: [String], name: String, title: String,
                             into directory: URL) throws(ReportError) -> [String] {
        let n = labels.count
        precondition(values.count == n * n, "a heatmap of \(n) labels needs \(n * n) values")
        precondition(!name.isEmpty && !name.hasPrefix(".") && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) },
                     "heatmap name '\(name)' must be letters, digits, '-', '_' or '.'")
        var data = "# " + Escaping.gnuplotComment("\(title): row = query, column = key") + "\n"
        for i in 0..<n {
            data += (0..<n).map { FigureData.number(Double(values[i * n + $0])) }.joined(separator: " ") + "\n"
        }
        let shown = labels.map { $0.replacingOccurrences(of: " ", with: "␣").replacingOccurrences(of: "\n", with: "↵") }
        let tics = shown.enumerated().map { "\(Escaping.gnuplot($0.element)) \($0.offset)" }.joined(separator: ", ")
        let size = 160 + 14 * n
        // Rectangles per entry keep each entry a crisp square where a browser would smooth the
        // embedded bitmap of plain 'with image' into blobs; past this many labels the SVG would
        // grow too large, so the bitmap is kept.
        let style = n <= Heatmap.maximumPixelLabels ? "with image pixels" : "with image"
        let script = """
            # \(Escaping.gnuplotComment("\(title); data in \(name).dat (one row per query). Run: gnuplot \(name).gp"))
            unset key
            set title \(Escaping.gnuplot(title)) noenhanced
            set xlabel "key" noenhanced
            set ylabel "query" noenhanced
            set xrange [-0.5:\(n) - 0.5]
            set yrange [\(n) - 0.5:-0.5]
            set cbrange [0:1]
            set palette defined (0 "white", 1 "#1f4e9c")
            set xtics (\(tics)) rotate by 90 right noenhanced
            set ytics (\(tics)) noenhanced
            do for [format in "svg pdf"] {
                if (format eq "svg") {
                    set terminal svg size \(size + 80),\(size) font \(FigureStyle.font(points: 8, svg: true)) background rgb "white"
                    set output \(Escaping.gnuplot("\(name).svg"))
                } else {
                    set terminal pdfcairo size \(FigureData.number(Double(size + 80) / 96))in,\(FigureData.number(Double(size) / 96))in font \(FigureStyle.font(points: 8, svg: false))
                    set output \(Escaping.gnuplot("\(name).pdf"))
                }
                plot \(Escaping.gnuplot("\(name).dat")) matrix \(style)
                set output
            }

            """
        let files = ["\(name).dat", "\(name).gp"]
        for (file, text) in zip(files, [data, script]) {
            do { try text.write(to: directory.appendingPathComponent(file), atomically: true, encoding: .utf8) } catch {
                throw .write(path: directory.appendingPathComponent(file).path, message: error.localizedDescription)
            }
        }
        if let failure = Gnuplot.run(script: "\(name).gp", in: directory) {
            throw .figuresFailed(index: directory.appendingPathComponent("\(name).gp").path, failures: [failure])
        }
        return (files + ["\(name).svg", "\(name).pdf"]).map { directory.appendingPathComponent($0).path }
    }
}
