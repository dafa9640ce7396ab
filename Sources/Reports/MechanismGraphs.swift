import Foundation

/// The three graphs of an active-dormant report, as DOT (draw them with `GraphRenderer`).
public enum MechanismGraphs {
    /// One node of a circuit: a component and its measured metrics.
    public struct Component: Sendable {
        public var id: String
        public var title: String
        public var metrics: [(String, Double)]
        public init(id: String, title: String, metrics: [(String, Double)]) { self.id = id; self.title = title; self.metrics = metrics }
    }

    /// A circuit graph: components in order (embed → L0.FFN → L1.head0 → …), each labelled with
    /// its metrics; `links` are (from, to, label).
    public static func circuit(_ components: [Component], links: [(String, String, String)], title: String) -> String {
        var graph = DOTGraph(name: "circuit", attributes: ["rankdir": "LR", "label": title, "labelloc": "t"])
        for component in components {
            let lines = [component.title] + component.metrics.map { "\($0.0) = \(format($0.1))" }
            graph.node(component.id, ["label": lines.joined(separator: "\n"), "shape": "box", "style": "rounded"])
        }
        for (from, to, label) in links { graph.edge(from, to, label.isEmpty ? [:] : ["label": label]) }
        return graph.text
    }

    /// A head × token-class graph: an edge from each head to each token class, solid green where
    /// the head is active on the class, dashed grey where it is dormant (sinks on BOS).
    public static func headTokenClasses(heads: [String], classes: [String], active: Set<[String]>, title: String) -> String {
        var graph = DOTGraph(name: "head_token_classes", attributes: ["rankdir": "LR", "label": title, "labelloc": "t"])
        for head in heads { graph.node("h:" + head, ["label": head, "shape": "ellipse"]) }
        for name in classes { graph.node("c:" + name, ["label": visible(name), "shape": "box"]) }
        for head in heads {
            for name in classes {
                let isActive = active.contains([head, name])
                graph.edge("h:" + head, "c:" + name, isActive ? ["color": "darkgreen", "penwidth": "2", "label": "active"]
                                                              : ["color": "grey70", "style": "dashed"])
            }
        }
        return graph.text
    }

    /// Whitespace made visible in a label.
    static func visible(_ token: String) -> String {
        token.replacingOccurrences(of: " ", with: "␣").replacingOccurrences(of: "\n", with: "⏎")
    }

    static func format(_ value: Double) -> String {
        abs(value) >= 1000 || (abs(value) < 0.001 && value != 0) ? String(format: "%.3g", value) : String(format: "%.3f", value)
    }
}
