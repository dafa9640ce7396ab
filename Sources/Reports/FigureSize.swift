/// The physical size of a figure, chosen to match where it goes: a paper column, the full width
/// of a paper page, or a slide. The PDF is drawn at that size with text at `points`, so it can be
/// placed at 100 % and its text matches a paper's captions; the SVG has the same proportions.
public enum FigureSize: String, Sendable, CaseIterable {
    /// One column of a two-column paper: 3.4 in wide, 8 pt text.
    case single
    /// The full text width of a paper: 7 in wide, 9 pt text.
    case double
    /// A 16:9 slide: 10 in wide, 16 pt text.
    case slide

    /// The size a figure gets without `size:`: one column for one panel, the page width for facets.
    public static func automatic(panels: Int) -> FigureSize { panels > 1 ? .double : .single }

    /// Width of the whole figure in inches.
    public var width: Double {
        switch self {
        case .single: 3.4
        case .double: 7
        case .slide: 10
        }
    }

    /// Height of one row of panels in inches (the key sits below the plot, inside this height).
    public var rowHeight: Double {
        switch self {
        case .single: 2.6
        case .double: 2.8
        case .slide: 5.6
        }
    }

    /// Text size in points.
    public var points: Int {
        switch self {
        case .single: 8
        case .double: 9
        case .slide: 16
        }
    }

    /// Panels per row of a faceted figure: narrower figures take fewer.
    public var maximumColumns: Int { self == .single ? 2 : 3 }
}

/// Drawing settings shared by every figure Loom writes (line plots, heatmaps) and its graphs.
public enum FigureStyle {
    /// The one font family of SVG and PDF figures: on Debian it comes with fontconfig
    /// (fonts-dejavu-core), which gnuplot's cairo terminals and Graphviz use, so every figure has the same glyphs.
    /// Graphviz graphs use it too (`DOTGraph`).
    public static let fontFamily = "DejaVu Sans"
    /// SVG pixels per inch (the CSS inch), so an SVG shown at its own size matches the PDF.
    static let svgPixelsPerInch = 96.0

    /// The gnuplot `font` argument for text at `points` (`svg` sizes are in pixels). The SVG
    /// names a generic fallback too, for a browser on a system without the font.
    static func font(points: Int, svg: Bool) -> String {
        let size = svg ? Double(points) * svgPixelsPerInch / 72 : Double(points)
        return "\"\(fontFamily)\(svg ? ", sans-serif" : ""),\(FigureData.number((size * 10).rounded() / 10))\""
    }
}
