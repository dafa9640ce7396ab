import Foundation

/// The natural size of an SVG file in CSS pixels, from the `width` and `height` of its root
/// element, so the page can show it at its own size instead of shrinking its text.
struct SVGSize: Sendable, Equatable {
    var width: Double
    var height: Double

    /// CSS pixels per unit (`pt` is what Graphviz writes, `px` or none what gnuplot writes).
    private static let units: [String: Double] = ["": 1, "px": 1, "pt": 4.0 / 3, "pc": 16, "in": 96, "cm": 96 / 2.54, "mm": 96 / 25.4]

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// Reads the root element from the first 8 KiB of `url`; nil when there is no file, no root
    /// element, or no absolute width and height (a percentage, or nothing).
    init?(contentsOf url: URL) {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let data = try? handle.read(upToCount: 8192), let text = String(data: data, encoding: .utf8) else { return nil }
        self.init(svgText: text)
    }

    init?(svgText text: String) {
        guard let start = text.range(of: "<svg"), let end = text[start.upperBound...].firstIndex(of: ">") else { return nil }
        let tag = String(text[start.upperBound..<end])
        guard let width = SVGSize.length(named: "width", in: tag), let height = SVGSize.length(named: "height", in: tag),
              width > 0, height > 0, width < 100_000, height < 100_000 else { return nil }
        self.width = width
        self.height = height
    }

    /// ` name="12.5pt"` in `tag` as pixels.
    private static func length(named name: String, in tag: String) -> Double? {
        guard let regex = try? NSRegularExpression(pattern: "\\s\(name)\\s*=\\s*[\"']\\s*([0-9.]+)\\s*([a-z]*)\\s*[\"']") else { return nil }
        guard let match = regex.firstMatch(in: tag, range: NSRange(tag.startIndex..., in: tag)),
              let number = Range(match.range(at: 1), in: tag).flatMap({ Double(tag[$0]) }),
              let unit = Range(match.range(at: 2), in: tag).flatMap({ units[String(tag[$0])] }) else { return nil }
        return number * unit
    }
}
