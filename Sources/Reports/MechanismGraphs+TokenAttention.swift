import Foundation

extension MechanismGraphs {
    /// Longest token text shown in a node; longer tokens are cut with "…".
    static let tokenLabelLimit = 12

    /// A token-attention graph of one sequence for one head, read from left to right: the query
    /// tokens in a column on the left, the key tokens in a column on the right, both in sequence
    /// order, and an arrow from a query to each key it gives more than `threshold` of its
    /// weight. Width says the weight; colour what the key is (the legend right of the keys):
    /// grey for BOS (the sink), blue for the previous token, green for the token itself, black
    /// otherwise. Only the `labelled` strongest arrows that are not to BOS carry a number; the
    /// BOS arrows are summarised in the legend. BOS is shaded, triggers outlined in orange.
    /// - Parameters:
    ///   - tokens: the sequence's tokens as text (position 0 is BOS).
    ///   - weights: row-major [T, T] attention weights of the head (query rows).
    public static func tokenAttention(tokens: [String], weights: [Float], triggers: Set<Int>, threshold: Float = 0.1,
                                      labelled: Int = 4, title: String) -> String {
        let t = tokens.count
        precondition(weights.count == t * t, "token attention needs \(t) × \(t) weights")
        var graph = DOTGraph(name: "token_attention", attributes: [
            "rankdir": "LR", "label": title, "labelloc": "t", "ranksep": "1.6", "nodesep": "0.06", "splines": "line",
            "fontname": FigureStyle.fontFamily, "fontsize": "12",
        ])
        let limit = tokenLabelLimit
        func text(_ i: Int) -> String {
            let token = visible(tokens[i])
            return "\(i): " + (token.count > limit ? String(token.prefix(limit - 1)) + "…" : token)
        }
        func style(_ i: Int) -> [String: String] {
            var attributes = ["label": text(i), "shape": "box", "height": "0.28", "margin": "0.06,0.02"]
            if i == 0 { attributes["style"] = "filled"; attributes["fillcolor"] = "grey85" }
            if triggers.contains(i) { attributes["penwidth"] = "2"; attributes["color"] = "darkorange" }
            return attributes
        }
        // Two columns in reading order: a header, then one node per token; invisible edges
        // within a column keep the order.
        let header = ["shape": "plaintext", "fontsize": "12", "height": "0.3"]
        graph.node("queries", header.merging(["label": "query"]) { $1 })
        graph.node("keys", header.merging(["label": "key"]) { $1 })
        for i in 0..<t { graph.node("q\(i)", style(i)); graph.node("k\(i)", style(i)) }

        var edges: [(query: Int, key: Int, weight: Float)] = []
        for i in 0..<t { for j in 0...i where weights[i * t + j] > threshold { edges.append((i, j, weights[i * t + j])) } }
        let strongest = Set(edges.filter { $0.key != 0 }.sorted { $0.weight > $1.weight }.prefix(max(0, labelled)).map { [$0.query, $0.key] })
        func color(_ i: Int, _ j: Int) -> String { j == 0 ? "grey55" : j == i ? "darkgreen" : j == i - 1 ? "blue" : "black" }
        for edge in edges {
            let c = color(edge.query, edge.key)
            var attributes = ["color": c, "penwidth": String(format: "%.2f", 0.4 + 4 * edge.weight), "arrowsize": "0.5",
                              "tailport": "e", "headport": "w"]
            if strongest.contains([edge.query, edge.key]) {
                // At the key's end: the arrows into other keys converge on a few (BOS above all),
                // so next to the arrowhead the label rarely sits on another arrow.
                attributes["headlabel"] = String(format: "%.2f", edge.weight)
                attributes["labelfontcolor"] = c
                attributes["labeldistance"] = "2.2"
                attributes["labelfontsize"] = "10"
                attributes["labelangle"] = "30"
            }
            graph.edge("q\(edge.query)", "k\(edge.key)", attributes)
        }

        // The legend, a column right of the keys: the colours, what width means, and the BOS arrows in sum.
        let sinks = edges.filter { $0.key == 0 && $0.query > 0 }
        let sinkShare = (1..<max(1, t)).map { weights[$0 * t] }
        let mean = sinkShare.isEmpty ? 0 : sinkShare.reduce(0, +) / Float(sinkShare.count)
        let entries: [(String, String)] = [
            ("→ BOS (sink)\n\(sinks.count) of \(max(0, t - 1)) queries, mean \(String(format: "%.2f", mean))", "grey45"),
            ("→ previous token", "blue"), ("→ itself", "darkgreen"), ("→ another token", "black"),
            ("width ∝ weight\nbelow \(String(format: "%.2f", threshold)) not drawn", "black"),
            ("orange box: trigger token", "darkorange"),
        ]
        var legend = ["legend"]
        graph.node("legend", ["shape": "plaintext", "label": "legend", "fontsize": "11", "height": "0.25"])
        for (index, entry) in entries.enumerated() {
            graph.node("legend\(index)", ["shape": "plaintext", "label": entry.0, "fontcolor": entry.1, "fontsize": "10",
                                          "height": "0.2"])
            legend.append("legend\(index)")
        }
        let queryColumn = ["queries"] + (0..<t).map { "q\($0)" }
        let keyColumn = ["keys"] + (0..<t).map { "k\($0)" }
        for column in [queryColumn, keyColumn, legend] {
            graph.sameRank(column)
            for (above, below) in zip(column, column.dropFirst()) { graph.edge(above, below, ["style": "invis"]) }
        }
        // Heavy invisible edges pull each key level with its query, so the columns line up.
        for i in 0..<t { graph.edge("q\(i)", "k\(i)", ["style": "invis", "weight": "20"]) }
        graph.edge("queries", "keys", ["style": "invis", "weight": "20"])
        graph.edge("keys", "legend", ["style": "invis"])
        return graph.text
    }
}
