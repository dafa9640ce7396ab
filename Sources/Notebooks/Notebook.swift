/// A Markdown notebook: YAML front matter, prose, and fenced cells that Loom executes.
///
///     ---
///     title: Sequence parallelism on 2 workers
///     state: .loom
///     ---
///     Ring reached `{loom} metric(experiment=quickstart, name=gflops, algorithm=ring)` GFLOP/s (@fig-speed).
///
///     ```{loom-plot}
///     #| label: fig-speed
///     #| caption: Throughput of the four schedules.
///     experiment: quickstart
///     x: tokens
///     y: gflops
///     series: algorithm
///     ```
public struct Notebook: Sendable, Equatable {
    /// The front matter's settings.
    public struct FrontMatter: Sendable, Equatable {
        public var title = "Notebook"
        public var authors: [String] = []
        /// The store folder, relative to the notebook's folder unless absolute (default `.loom`).
        public var state: String?
    }

    /// A cell's kind: what its body is and what it makes.
    public enum CellKind: String, Sendable, CaseIterable {
        /// An experiment file run through the normal runner, cached like `loom run`.
        case run = "loom-run"
        /// A table of an experiment's runs.
        case table = "loom-table"
        /// A figure from the store, with the spec of an experiment file's `report:` entries.
        case plot = "loom-plot"
        /// A read-only SQL query on the store, shown as a table.
        case sql
        /// Graphviz source, rendered.
        case dot
        /// A run's artifact graph (an SVG it stored, such as a mechanism graph) by name.
        case graph = "loom-graph"
        /// A raw gnuplot script over data an earlier cell exported, run in a sandbox.
        case gnuplot

    }

    /// One fenced cell.
    public struct Cell: Sendable, Equatable {
        public var kind: CellKind
        /// `#| key: value` options, in order.
        public var options: [(key: String, value: String)]
        /// The body after the options.
        public var body: String
        /// The fence's line (1-based) and the body's first line.
        public var line: Int
        public var bodyLine: Int

        public func option(_ key: String) -> String? { options.first { $0.key == key }?.value }
        public var label: String? { option("label") }

        public static func == (a: Cell, b: Cell) -> Bool {
            a.kind == b.kind && a.body == b.body && a.line == b.line && a.bodyLine == b.bodyLine
                && a.options.map(\.key) == b.options.map(\.key) && a.options.map(\.value) == b.options.map(\.value)
        }
    }

    /// Prose or a cell, in file order.
    public enum Block: Sendable, Equatable {
        /// Markdown lines, and the line the first one is on.
        case prose(String, line: Int)
        case cell(Cell)
    }

    /// The options a cell may carry, and what they mean (for errors).
    public static let optionKeys = ["label", "caption", "width", "echo"]

    public var file: String
    public var front: FrontMatter
    public var blocks: [Block]

    public var cells: [Cell] { blocks.compactMap { if case let .cell(cell) = $0 { cell } else { nil } } }
}

/// Problems with a notebook, each at `file:line`.
public struct NotebookError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public var file: String, line: Int, message: String
        public init(file: String, line: Int, _ message: String) { self.file = file; self.line = line; self.message = message }
        public var description: String { "\(file):\(line): \(message)" }
    }
    public var problems: [Problem]
    public init(_ problems: [Problem]) { self.problems = problems }
    public init(file: String, line: Int, _ message: String) { problems = [Problem(file: file, line: line, message)] }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
