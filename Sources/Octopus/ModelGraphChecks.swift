import Experiments
import Tasks

/// The checks of a graph file that need all its nodes and edges: unique names, one master with
/// edges, edges between known nodes and never into the master, one node per functional token,
/// and a hop limit wherever worker → worker edges could loop forever.
struct GraphChecks {
    var reader: GraphReader
    let nodes: [(ModelGraph.Node, YAMLNode)]
    let edges: [(ModelGraph.Edge, YAMLNode)]
    let hopLimit: Int?
    let hopLimitMark: YAMLMark?
    let root: YAMLNode

    private mutating func problem(_ message: String, at mark: YAMLMark) { reader.problem(message, at: mark) }

    private func role(_ name: String) -> ModelGraph.Role? { nodes.first { $0.0.name == name }?.0.role }

    mutating func run() {
        var seen: [String: YAMLMark] = [:]
        for (node, item) in nodes {
            let mark = item["name"]?.mark ?? item.mark
            if let first = seen[node.name] {
                problem("node '\(node.name)' is defined twice (first at line \(first.line)); give each node its own name", at: mark)
            } else {
                seen[node.name] = mark
            }
        }
        let masters = nodes.filter { $0.0.role == .master }
        if masters.isEmpty && !nodes.isEmpty {
            problem("the graph has no master; give the node that routes queries 'role: master'", at: root["nodes"]?.mark ?? root.mark)
        }
        for extra in masters.dropFirst() {
            problem("'\(extra.0.name)' is a second master; a graph has one (the first is '\(masters[0].0.name)')", at: extra.1["role"]?.mark ?? extra.1.mark)
        }
        checkEdges()
        if let master = masters.first, !edges.contains(where: { $0.0.from == master.0.name }) {
            problem("the master '\(master.0.name)' has no edges; add one per worker, e.g. {from: \(master.0.name), to: WORKER, token: \"<nexa_0>\"}",
                    at: master.1.mark)
        }
        if hopLimit == nil, let (cycle, closing) = workerCycle() {
            problem("the worker edges \(cycle.joined(separator: " → ")) form a cycle; set 'hop_limit: N' at the top of the file "
                    + "to bound the worker → worker hops one query may take", at: closing)
        }
    }

    private mutating func checkEdges() {
        let names = nodes.map(\.0.name), broken = reader.brokenNames
        var tokens: [String: (target: String, mark: YAMLMark)] = [:]
        var pairs: [String: YAMLMark] = [:]
        for (edge, item) in edges {
            var known = true
            guard !broken.contains(edge.from) && !broken.contains(edge.to) else { continue }
            for (key, name) in [("from", edge.from), ("to", edge.to)] where !names.contains(name) {
                let hint = nearestName(to: name, among: names).map { "; did you mean '\($0)'?" } ?? "; the nodes are \(names.joined(separator: ", "))"
                problem("unknown node '\(name)' in '\(key):'\(hint)", at: item[key]?.mark ?? item.mark)
                known = false
            }
            guard known else { continue }
            if role(edge.to) == .master {
                problem("an edge into the master '\(edge.to)'; queries start at the master, so nothing routes to it", at: item["to"]?.mark ?? item.mark)
            }
            // An edge from a worker to itself is a loop of one (an ADD chain: the sum feeds a sum):
            // the cycle check below asks for hop_limit.
            let tokenMark = item["token"]?.mark ?? item.mark
            if let first = tokens[edge.token], first.target != edge.to {
                problem("token '\(edge.token)' already names node '\(first.target)' (line \(first.mark.line)); each functional token names one node",
                        at: tokenMark)
            } else if tokens[edge.token] == nil {
                tokens[edge.token] = (edge.to, tokenMark)
            }
            let pair = edge.from + " → " + edge.to
            if let first = pairs[pair] {
                problem("a second edge \(pair) (the first at line \(first.line)); one edge per pair of nodes", at: item.mark)
            } else {
                pairs[pair] = item.mark
            }
        }
    }

    /// A cycle among worker → worker edges (neither end the master), and the mark of the edge
    /// that closes it, found by depth-first search in file order.
    private func workerCycle() -> ([String], YAMLMark)? {
        let inner = edges.filter { role($0.0.from) != nil && role($0.0.to) != nil && role($0.0.from) != .master && role($0.0.to) != .master }
        var state: [String: Int] = [:]          // 1 on the path, 2 done
        var path: [String] = []
        func visit(_ name: String) -> ([String], YAMLMark)? {
            state[name] = 1
            path.append(name)
            for (edge, item) in inner where edge.from == name {
                if state[edge.to] == 1 {
                    let start = path.firstIndex(of: edge.to)!
                    return (Array(path[start...]) + [edge.to], item.mark)
                }
                if state[edge.to] == nil, let found = visit(edge.to) { return found }
            }
            path.removeLast()
            state[name] = 2
            return nil
        }
        for (node, _) in nodes where state[node.name] == nil && node.role != .master {
            if let found = visit(node.name) { return found }
        }
        return nil
    }
}
