import Foundation
import Reports

/// What an evaluation measured on a graph, for its drawing (all optional: a graph is drawn
/// before anything is trained, and again with whatever was measured).
public struct GraphMeasurements: Sendable, Equatable {
    /// The master's routing accuracy, 0…1.
    public var routingAccuracy: Double?
    /// Per worker node: exact-match accuracy on the queries routed to it.
    public var nodeAccuracy: [String: Double] = [:]
    /// Per edge (`from`, `to`): the share of the source's queries that took it, 0…1.
    public var edgeShare: [String: Double] = [:]
    /// Misroutes: queries of the true domain's node (`from`) sent to another node (`to`), counted.
    public var misroutes: [String: Int] = [:]
    /// Accuracy of the whole graph on its queries.
    public var overallAccuracy: Double?

    public init(routingAccuracy: Double? = nil, overallAccuracy: Double? = nil) {
        self.routingAccuracy = routingAccuracy; self.overallAccuracy = overallAccuracy
    }

    /// The key of the edge from `from` to `to` in `edgeShare` and `misroutes`.
    public static func key(_ from: String, _ to: String) -> String { from + " → " + to }
}

/// A model graph in Graphviz: the master a double octagon with its parameters (and routing
/// accuracy once measured), workers boxes with domain, parameters and accuracy (the general
/// worker dashed), master → worker edges labelled with their functional token (and the share of
/// queries; pen width by share, colour by the target's accuracy), worker → worker edges for
/// multi-hop chains, and misroutes as dotted red edges from the true node to the chosen one.
public enum ModelGraphDrawing {
    /// DOT text for `graph` with `measurements` (none: the graph as the file declares it).
    public static func dot(_ graph: ModelGraph, measurements: GraphMeasurements? = nil) -> String {
        var label = "\(graph.name): activated \(millions(graph.activatedParameters)) · total \(millions(graph.totalParameters)) parameters"
        if let accuracy = measurements?.overallAccuracy { label += String(format: " · accuracy %.3f", accuracy) }
        var dot = DOTGraph(name: graph.name, attributes: ["rankdir": "LR", "label": label, "labelloc": "t"])
        for node in graph.nodes {
            var lines = [node.name]
            switch node.role {
            case .master: lines.append("routes queries · \(shape(node.shape))")
            case .worker: lines.append("\(node.domain ?? "corpus") · \(shape(node.shape))")
            case .general: lines.append("general (all domains) · \(shape(node.shape))")
            }
            lines.append("\(millions(graph.parameters(of: node))) parameters")
            if node.role == .master, let accuracy = measurements?.routingAccuracy { lines.append(String(format: "routing accuracy %.3f", accuracy)) }
            if node.role != .master, let accuracy = measurements?.nodeAccuracy[node.name] { lines.append(String(format: "accuracy %.3f", accuracy)) }
            var attributes = ["label": lines.joined(separator: "\n"), "shape": node.role == .master ? "doubleoctagon" : "box"]
            if node.role == .general { attributes["style"] = "dashed" }
            if let accuracy = measurements?.nodeAccuracy[node.name] { attributes["color"] = colour(accuracy) }
            dot.node(node.name, attributes)
        }
        for edge in graph.edges {
            let key = GraphMeasurements.key(edge.from, edge.to)
            var attributes = ["label": edge.token]
            if graph.node(edge.from)?.role != .master { attributes["style"] = "bold"; attributes["color"] = "#0072B2" }
            if let share = measurements?.edgeShare[key] {
                attributes["label"] = edge.token + String(format: "\n%.0f%%", 100 * share)
                attributes["penwidth"] = String(format: "%.2f", 0.5 + 5.5 * max(0, min(1, share)))
            }
            if let accuracy = measurements?.nodeAccuracy[edge.to] { attributes["color"] = colour(accuracy) }
            dot.edge(edge.from, edge.to, attributes)
        }
        for (key, count) in (measurements?.misroutes ?? [:]).sorted(by: { $0.key < $1.key }) where count > 0 {
            let ends = key.components(separatedBy: " → ")
            guard ends.count == 2, graph.node(ends[0]) != nil, graph.node(ends[1]) != nil else { continue }
            // An xlabel, not a label: these edges join nodes of one rank, and Graphviz 2.42's dot
            // corrupted its heap laying out labels on such flat edges (a worker died freeing memory
            // after drawing an evaluated graph); xlabels are placed after the layout.
            dot.edge(ends[0], ends[1], ["style": "dotted", "color": "#D55E00", "fontcolor": "#D55E00", "xlabel": "\(count) misrouted",
                                        "constraint": "false"])
        }
        return dot.text
    }

    /// Writes `NAME.dot`, `.svg` and `.pdf` of the drawing into `directory`.
    /// - Returns: the files written.
    @discardableResult
    public static func write(_ graph: ModelGraph, measurements: GraphMeasurements? = nil, name: String,
                             into directory: URL) throws(GraphRenderer.Failure) -> [String] {
        try GraphRenderer.write(dot: dot(graph, measurements: measurements), name: name, into: directory)
    }

    static func shape(_ shape: ModelGraph.Shape) -> String { "L\(shape.layers) d\(shape.dModel) h\(shape.heads) T\(shape.context)" }

    static func millions(_ count: Int) -> String {
        count >= 1_000_000 ? String(format: "%.2fM", Double(count) / 1e6) : String(format: "%.1fk", Double(count) / 1e3)
    }

    /// Red (0) through orange to green (1), colour-blind safe ends (Okabe–Ito vermillion and bluish green).
    static func colour(_ accuracy: Double) -> String {
        accuracy >= 0.9 ? "#009E73" : accuracy >= 0.5 ? "#E69F00" : "#D55E00"
    }
}
