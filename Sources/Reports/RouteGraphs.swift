import Foundation

/// The route graphs of a Duo-LLM report, as DOT (draw them with `GraphRenderer`): how tokens
/// flow through each layer's big FFN, small FFN or skip, under one or more ways of choosing.
public enum RouteGraphs {
    /// Where a token goes at a layer's FFN.
    public enum Branch: String, CaseIterable, Sendable {
        case big, small, skip
    }

    /// The fraction of tokens on each branch at each layer, under one way of choosing routes
    /// (`oracle@2`, `router`, `random`).
    public struct Usage: Sendable {
        public var condition: String
        /// Per layer, the fraction of tokens per branch (a missing branch counts 0).
        public var fractions: [[Branch: Double]]
        public init(condition: String, fractions: [[Branch: Double]]) { self.condition = condition; self.fractions = fractions }
    }

    /// Embed → per layer {attention → big | small | skip → add} → head, top to bottom (a paper
    /// column holds six layers). Each branch edge is
    /// labelled with its fraction under every condition; its pen width follows the first
    /// condition's fraction (0.3 pt for none, 6 pt for every token), and a branch no condition
    /// uses is dotted.
    /// - Parameter layers: the model's depth; usage beyond it is ignored, missing layers count 0.
    public static func routes(layers: Int, usage: [Usage], title: String) -> String {
        var graph = DOTGraph(name: "routes", attributes: [
            "rankdir": "TB", "label": title + legend(usage), "labelloc": "t", "nodesep": "0.15", "ranksep": "0.45",
        ])
        graph.node("embed", ["label": "embed", "shape": "box", "style": "rounded"])
        var previous = "embed"
        for layer in 0..<max(0, layers) {
            let attention = "L\(layer).attn", add = "L\(layer).add"
            graph.node(attention, ["label": "L\(layer) attention", "shape": "box", "style": "rounded"])
            graph.node(add, ["label": "+", "shape": "circle", "width": "0.3", "fixedsize": "true"])
            graph.edge(previous, attention)
            var branches: [String] = []
            for branch in Branch.allCases {
                let id = "L\(layer).\(branch.rawValue)"
                branches.append(id)
                graph.node(id, ["label": branch == .skip ? "skip" : "\(branch.rawValue) FFN", "shape": "box",
                                "style": branch == .skip ? "dashed" : "solid"])
                let shares = usage.map { share(of: branch, layer: layer, in: $0) }
                let first = shares.first.map { $0.isNaN ? 0 : $0 } ?? 0
                var attributes = ["penwidth": String(format: "%.2f", 0.3 + 5.7 * first),
                                  "label": shares.map(format).joined(separator: "\n")]
                if shares.allSatisfy({ $0 == 0 }) { attributes["style"] = "dotted" }
                graph.edge(attention, id, attributes)
                graph.edge(id, add, ["penwidth": attributes["penwidth"]!, "arrowsize": "0.5"])
            }
            graph.sameRank(branches)
            previous = add
        }
        graph.node("head", ["label": "head", "shape": "box", "style": "rounded"])
        graph.edge(previous, "head")
        return graph.text
    }

    /// One token's route: its branch at each layer drawn bold, the others faint, with its loss
    /// on that route beside its loss when every layer takes the big FFN.
    public static func tokenPath(route: [Branch], token: String, loss: Double, allBigLoss: Double, title: String) -> String {
        let caption = "\(title)\ntoken \(MechanismGraphs.visible(token)): loss \(MechanismGraphs.format(loss)) on this route, "
            + "\(MechanismGraphs.format(allBigLoss)) with every layer big"
        var graph = DOTGraph(name: "token_route", attributes: ["rankdir": "TB", "label": caption, "labelloc": "t", "nodesep": "0.15"])
        graph.node("embed", ["label": "embed", "shape": "box", "style": "rounded"])
        var previous = "embed"
        for (layer, chosen) in route.enumerated() {
            let add = "L\(layer).add"
            graph.node(add, ["label": "L\(layer)", "shape": "circle", "width": "0.4", "fixedsize": "true"])
            var branches: [String] = []
            for branch in Branch.allCases {
                let id = "L\(layer).\(branch.rawValue)", taken = branch == chosen
                branches.append(id)
                graph.node(id, ["label": branch.rawValue, "shape": "box", "color": taken ? "#D55E00" : "grey70",
                                "fontcolor": taken ? "black" : "grey55", "penwidth": taken ? "2" : "1"])
                let style = taken ? ["color": "#D55E00", "penwidth": "2.5"] : ["color": "grey80", "style": "dotted"]
                graph.edge(previous, id, style)
                graph.edge(id, add, style.merging(["arrowsize": "0.5"]) { $1 })
            }
            graph.sameRank(branches)
            previous = add
        }
        graph.node("head", ["label": "head", "shape": "box", "style": "rounded"])
        graph.edge(previous, "head", ["color": "#D55E00", "penwidth": "2.5"])
        return graph.text
    }

    /// A fraction as shown on an edge, clamped to [0, 1]; NaN shows as a dash.
    static func share(of branch: Branch, layer: Int, in usage: Usage) -> Double {
        guard layer < usage.fractions.count, let value = usage.fractions[layer][branch] else { return 0 }
        return value.isNaN ? .nan : min(1, max(0, value))
    }

    private static func format(_ share: Double) -> String { share.isNaN ? "–" : String(format: "%.2f", share) }

    /// The order of the numbers on each edge, under the title.
    private static func legend(_ usage: [Usage]) -> String {
        usage.isEmpty ? "" : "\nfractions of tokens, top to bottom: " + usage.map(\.condition).joined(separator: ", ")
            + "; line width: " + (usage.first?.condition ?? "")
    }
}
