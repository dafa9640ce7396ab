import Foundation
import Synchronization
@preconcurrency internal import CGraphviz

/// Draws graphs with libgvc (Graphviz's `dot` layout), in this process: mechanism graphs
/// (circuits, token attention, heads × token classes) and model graphs for reports.
public enum GraphRenderer {
    /// Graphviz keeps global state (its error buffer, plugin tables): one render at a time.
    private static let lock = Mutex(())

    /// A graph that could not be drawn: the DOT parse or layout failed.
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Renders DOT text to `format` (`svg`, `pdf`, `png`).
    /// - Throws: `Failure` naming the step and what Graphviz said.
    public static func render(dot: String, format: String) throws(Failure) -> Data {
        try lock.withLock { _ throws(Failure) -> Data in
            guard let context = gvContext() else { throw Failure(message: "Graphviz: cannot create a context") }
            defer { gvFreeContext(context) }
            guard let graph = dot.withCString({ agmemread($0) }) else {
                throw Failure(message: "Graphviz cannot parse the graph: \(lastError() ?? "syntax error")")
            }
            defer { agclose(graph) }
            // A notebook's DOT is the notebook author's: it must not read the reader's files.
            if let attribute = loom_dot_file_reference(graph) {
                let name = String(cString: attribute)
                throw Failure(message: "the graph uses '\(name)'"
                              + (["image", "shapefile", "imagepath", "fontpath"].contains(name) ? "" : " with an HTML-like <IMG>")
                              + ", which reads a file from this machine; Loom draws graphs that read no files: remove it")
            }
            guard gvLayout(context, graph, "dot") == 0 else {
                throw Failure(message: "Graphviz cannot lay out the graph: \(lastError() ?? "layout failed")")
            }
            defer { gvFreeLayout(context, graph) }
            var buffer: UnsafeMutablePointer<CChar>?
            var length: UInt32 = 0
            guard gvRenderData(context, graph, format, &buffer, &length) == 0, let buffer else {
                throw Failure(message: "Graphviz cannot render \(format): \(lastError() ?? "no renderer for it")")
            }
            defer { gvFreeRenderData(buffer) }
            return Data(bytes: buffer, count: Int(length))
        }
    }

    /// Writes `NAME.dot`, `NAME.svg` and `NAME.pdf` into `directory`.
    /// - Returns: the file names written.
    @discardableResult
    public static func write(dot: String, name: String, into directory: URL) throws(Failure) -> [String] {
        var names: [String] = []
        do {
            // Atomic: the file is replaced, never written through a link left in its place.
            try Data(dot.utf8).write(to: directory.appendingPathComponent("\(name).dot"), options: .atomic)
            names.append("\(name).dot")
            for format in ["svg", "pdf"] {
                try render(dot: dot, format: format).write(to: directory.appendingPathComponent("\(name).\(format)"), options: .atomic)
                names.append("\(name).\(format)")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "cannot write \(name) into \(directory.path): \(error.localizedDescription)")
        }
        return names
    }

    private static func lastError() -> String? {
        guard let text = aglasterr() else { return nil }
        defer { free(text) }
        let message = String(cString: text).trimmingCharacters(in: .whitespacesAndNewlines)
        return message.isEmpty ? nil : message
    }
}

/// DOT text built safely: every name, attribute and label is a quoted ID escaped by `Escaping.dot`,
/// so no text can end its string, add a statement or expand `\N`-style escapes. No HTML-like
/// label (`<…>`) is ever written.
public struct DOTGraph {
    private var lines: [String]

    /// A directed graph; `attributes` go on the graph (e.g. `rankdir=LR`).
    public init(name: String = "G", attributes: [String: String] = [:]) {
        lines = ["digraph \(DOTGraph.quote(name)) {"]
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { lines.append("  \(DOTGraph.attributeName(key))=\(DOTGraph.quote(value));") }
        if attributes["fontname"] == nil { lines.append("  fontname=\(DOTGraph.quote(FigureStyle.fontFamily));") }
        lines.append("  node [fontname=\(DOTGraph.quote(FigureStyle.fontFamily)), fontsize=11];")
        lines.append("  edge [fontname=\(DOTGraph.quote(FigureStyle.fontFamily)), fontsize=9];")
    }

    public mutating func node(_ id: String, _ attributes: [String: String] = [:]) {
        lines.append("  \(DOTGraph.quote(id))\(DOTGraph.attributeList(attributes));")
    }

    public mutating func edge(_ from: String, _ to: String, _ attributes: [String: String] = [:]) {
        lines.append("  \(DOTGraph.quote(from)) -> \(DOTGraph.quote(to))\(DOTGraph.attributeList(attributes));")
    }

    /// Nodes drawn on one rank (a row, or a column with `rankdir=LR`).
    public mutating func sameRank(_ ids: [String]) {
        lines.append("  { rank=same; " + ids.map { DOTGraph.quote($0) + ";" }.joined(separator: " ") + " }")
    }

    public var text: String { (lines + ["}"]).joined(separator: "\n") + "\n" }

    /// A name, label or attribute as a quoted DOT ID (`Escaping.dot`): the one way text enters the graph.
    static func quote(_ text: String) -> String { Escaping.dot(text) }

    /// An attribute name as written: Loom passes Graphviz's own names (`label`, `rankdir`), never user text.
    /// - Precondition: `name` is ASCII letters, digits and `_`, not starting with a digit.
    static func attributeName(_ name: String) -> String {
        precondition((name.first.map { !$0.isNumber } ?? false) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") },
                     "DOT attribute name '\(name)' must be a Graphviz attribute such as label or color")
        return name
    }

    static func attributeList(_ attributes: [String: String]) -> String {
        attributes.isEmpty ? "" : " [" + attributes.sorted(by: { $0.key < $1.key }).map { "\(attributeName($0.key))=\(quote($0.value))" }.joined(separator: ", ") + "]"
    }
}
