extension GnuplotScript {
    /// How the reference points are drawn: large open circles in black, no line, so they read as
    /// published values rather than one more measured series.
    static let referenceStyle = "with points pointtype 6 pointsize 2 linewidth 2 linecolor rgb \"black\""

    /// The figure's reference as a plot element, and the script comments that explain it.
    /// The element is nil without a reference, or when a log axis leaves none of its points.
    var referencePlot: (element: String?, comments: [String]) {
        guard let reference = figure.reference else { return (nil, []) }
        let logX = figure.logX && !data.isCategorical, logY = figure.logY
        var comments = ["Reference: \(reference.label), block \(data.blockCount) of \(figure.name).dat, drawn as large open circles."]
        let skipped = reference.points.filter { (logX && $0.x <= 0) || (logY && $0.y <= 0) }
        if !skipped.isEmpty {
            comments.append("A log axis has no place for values <= 0, so the reference skips "
                            + skipped.map { "(\(FigureData.number($0.x)), \(FigureData.number($0.y)))" }.joined(separator: ", ") + ".")
        }
        guard skipped.count < reference.points.count else {
            comments.append("That is every reference point, so the reference is not drawn.")
            return (nil, comments)
        }
        // NaN drops those points on purpose; gnuplot 5.4 would drop them too, but silently.
        let x = logX ? "($1 > 0 ? $1 : NaN)" : "1", y = logY ? "($2 > 0 ? $2 : NaN)" : "2"
        let element = "\(quoted("\(figure.name).dat")) index \(data.blockCount) using \(x):\(y) \(GnuplotScript.referenceStyle) "
            + "title \(quoted(reference.label)) noenhanced"
        return (element, comments)
    }
}
