import Foundation

/// What `Report.render` wrote.
public struct ReportOutput: Sendable {
    /// The report directory.
    public var directory: URL
    /// Every file written, the indexes included.
    public var files: [URL]
    /// `index.html`: the page to open.
    public var indexHTML: URL
    /// `index.md`: the same report in Markdown.
    public var indexMarkdown: URL
    /// What became of each figure, in spec order.
    public var figures: [FigureOutcome]
}
