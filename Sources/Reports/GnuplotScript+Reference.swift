extension GnuplotScript {
    /// How the reference points are drawn: small black crosses, no line, so they read as
    /// published values beside the coloured, filled markers of Loom's data.
    static let referenceStyle = "with points pointtype 2 pointsize 0.9 linewidth 1 linecolor rgb \"black\""

    /// The reference points outside the drawn x range (or that a log axis has no place for): the
    /// figure's side note lists them instead.
    var referencePointsNotDrawn: [FigureReference.Point] {
        guard let reference = figure.reference else { return [] }
        let range = xRange
        let logX = figure.logX && !data.isCategorical, logY = figure.logY
        return reference.points.filter { point in
            let outside = range.map { bounds in point.x < bounds.lower || point.x > bounds.upper } ?? false
            return outside || (logX && point.x <= 0) || (logY && point.y <= 0)
        }
    }

    /// The side note for reference points not drawn, or nil: `Guo et al. 2024: published point
    /// (10000, 0.81) is not drawn: it lies outside Loom's x range (0 to 3000).`
    var referenceNote: String? {
        let missing = referencePointsNotDrawn
        guard let reference = figure.reference, !missing.isEmpty else { return nil }
        let points = missing.map { "(\(FigureData.number($0.x)), \(FigureData.number($0.y)))" }.joined(separator: ", ")
        let one = missing.count == 1
        var why = "outside the x range of Loom's data"
        if let bounds = data.xBounds { why += " (\(FigureData.number(bounds.lower)) to \(FigureData.number(bounds.upper)))" }
        if figure.logX || figure.logY { why += " or at a value <= 0 on a log axis" }
        return "\(reference.label): published point\(one ? "" : "s") \(points) \(one ? "is" : "are") not drawn: "
            + "\(one ? "it lies" : "they lie") \(why)."
    }

    /// The figure's reference as a plot element, and the script comments that explain it.
    /// The element is nil without a reference, or when none of its points falls inside the axes.
    var referencePlot: (element: String?, comments: [String]) {
        guard let reference = figure.reference else { return (nil, []) }
        let logX = figure.logX && !data.isCategorical, logY = figure.logY
        var comments = ["Reference: \(reference.label), block \(data.blockCount) of \(figure.name).dat, drawn as small black crosses."]
        if let note = referenceNote { comments.append(note) }
        guard referencePointsNotDrawn.count < reference.points.count else {
            comments.append("That is every reference point, so the reference is not drawn.")
            return (nil, comments)
        }
        // NaN drops those points on purpose: a point outside [xmin:xmax] would still stretch the y range.
        var keep: [String] = []
        if logX { keep.append("$1 > 0") }
        if logY { keep.append("$2 > 0") }
        if xRange != nil { keep.append("$1 >= xmin && $1 <= xmax") }
        let y = keep.isEmpty ? "2" : "(\(keep.joined(separator: " && ")) ? $2 : NaN)"
        let element = "\(quoted("\(figure.name).dat")) index \(data.blockCount) using 1:\(y) \(GnuplotScript.referenceStyle) "
            + "title \(quoted(reference.label)) noenhanced"
        return (element, comments)
    }
}
