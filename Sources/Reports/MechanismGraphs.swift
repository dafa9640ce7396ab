import Foundation

/// The three graphs of an active-dormant report, as DOT (draw them with `GraphRenderer`).
public enum MechanismGraphs {
    /// A token-attention graph of one sequence for one head: BOS shaded, triggers outlined, an
    /// edge for every attention weight above `threshold`: grey for query → BOS, blue for
    /// query → previous token, black otherwise; thicker for more weight.
    /// - Parameters:
    ///   - tokens: the sequence's tokens as text (position 0 is BOS).
    ///   - weights: row-major [T, T] attention weights of the head (query rows).
    public static func tokenAttention(tokens: [String], weights: [Float], triggers: Set<Int>, threshold: Float = 0.1,
                                      title: String) -> String {
        let t = tokens.count
        var graph = DOTGraph(name: "token_attention", attributes: ["rankdir": "LR", "label": title, "labelloc": "t"])
        for (i, token) in tokens.enumerated() {
            var attributes = ["label": "\(i): \(visible(token))", "shape": "box"]
            if i == 0 { attributes["style"] = "filled"; attributes["fillcolor"] = "grey80" }
            if triggers.contains(i) { attributes["penwidth"] = "2.5"; attributes["color"] = "darkorange" }
            graph.node("t\(i)", attributes)
        }
        for i in 1..<max(1, t) {
            for j in 0...i where weights[i * t + j] > threshold && j != i {
                let weight = weights[i * t + j]
                let color = j == 0 ? "grey50" : j == i - 1 ? "blue" : "black"
                graph.edge("t\(i)", "t\(j)", ["color": color, "penwidth": String(format: "%.2f", 0.5 + 3 * weight),
                                               "label": String(format: "%.2f", weight), "constraint": "false"])
            }
        }
        // Keep the tokens in reading order.
        for i in 1..<max(1, t) { graph.edge("t\(i - 1)", "t\(i)", ["style": "invis"]) }
        return graph.text
    }

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
