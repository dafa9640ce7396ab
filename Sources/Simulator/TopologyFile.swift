import Experiments
import Foundation
import Tasks

/// Topologies described in YAML (`topologies/*.yaml`, or any file), and the built-in presets,
/// which are the files of the checkout's `topologies/` directory.
///
///     name: 4xA10-pcie
///     source: "NVIDIA A10 datasheet: PCIe Gen4 x16, 64 GB/s bidirectional; 125 TFLOPS BF16 dense"
///     kind: pcie_tree            # ring, mesh, switch, pcie_tree or fat_tree
///     ranks: 4
///     per_switch: 2              # pcie_tree: ranks under one PCIe switch
///     link:   {gbytes_per_s: 32, latency_us: 5}            # duplex: full (default) or half
///     uplink: {gbytes_per_s: 32, latency_us: 5}
///     compute: {tflops: 125, forward: 0.5, backward: 0.4}  # peak and each family's fraction of it
///     # optional in compute: memory_gbytes_per_s: 600, merge: 0.3 (the merges' fraction of it),
///     # transfer_slowdown: 0.1 (compute at 1/1.1 of its rate while the rank has a transfer in flight)
///     cores: 2                   # optional: the ranks share this many cores (local workers)
///     pinned: true               # optional, with cores: rank r pinned to core r mod cores
///     copy_gbytes_per_s: 12      # optional: each transfer is copied in and out on the ranks' cores
///     all_to_all_efficiency: 0.3 # optional: an all-to-all's fraction of its links' bandwidth (default 1)
///
/// Every problem is an error at `file:line:column` that says what to write instead.
public enum TopologyFile {
    /// The keys a topology file may hold.
    static let keys = ["name", "source", "kind", "ranks", "per_switch", "per_node", "nodes_per_leaf", "oversubscription",
                       "link", "uplink", "nic", "compute", "nodes", "links", "cores",
                       "pinned", "copy_gbytes_per_s", "all_to_all_efficiency"]

    /// Reads and checks a topology file.
    /// - Parameter ranks: overrides the file's `ranks` (the CLI's `--workers`).
    /// - Throws: `ExperimentError` at the place of the first problem.
    public static func load(path: String, ranks: Int? = nil) throws(ExperimentError) -> Topology {
        let root = try YAMLReader.parse(contentsOf: path)
        return try topology(root, file: path, ranks: ranks)
    }

    /// Whether `name` is a file path (it holds a "/" or ends in .yaml or .yml), not a preset's name.
    static func isPath(_ name: String) -> Bool {
        name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml")
    }

    /// The file `name` stands for: itself when it is a path, else the preset's file, or nil for
    /// no such preset.
    public static func file(named name: String, root: URL? = nil) -> String? {
        isPath(name) ? name : presets(root: root)[name]
    }

    /// The preset `name` (a file of `topologies/` in the checkout), or the file at `name` when it
    /// is a path (`isPath`).
    /// - Throws: `ExperimentError` for an unknown preset (naming them all) or a bad file.
    public static func named(_ name: String, ranks: Int? = nil, root: URL? = nil) throws(ExperimentError) -> Topology {
        if isPath(name) { return try load(path: name, ranks: ranks) }
        let known = presets(root: root)
        guard let path = known[name] else {
            let list = known.keys.sorted().joined(separator: ", ")
            throw ExperimentError(file: "--topology", line: 0, column: 0,
                                  "no preset named '\(name)'" + (list.isEmpty ? "; the checkout's topologies/ directory was not found, so give a file path"
                                                                   : "; presets: \(list), or give a .yaml file"))
        }
        return try load(path: path, ranks: ranks)
    }

    /// Preset name → file, from `topologies/` of the checkout (`root`, else found from the current
    /// directory or this build's sources).
    public static func presets(root: URL? = nil) -> [String: String] {
        guard let root = root ?? LoomCheckout.root(holding: "topologies") else { return [:] }
        let directory = root.appendingPathComponent("topologies")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var result: [String: String] = [:]
        for file in files where file.hasSuffix(".yaml") {
            result[String(file.dropLast(5))] = directory.appendingPathComponent(file).path
        }
        return result
    }

    // MARK: - Checking

    static func topology(_ root: YAMLNode, file: String, ranks override: Int?) throws(ExperimentError) -> Topology {
        guard case let .mapping(entries, _) = root else {
            throw ExperimentError(file: file, line: root.mark.line, column: root.mark.column, "a topology file is a mapping of keys (name, kind, ranks, link, …), not \(root.kindName)")
        }
        for entry in entries where !keys.contains(entry.key) {
            let close = keys.min { distance($0, entry.key) < distance($1, entry.key) }!
            let hint = distance(close, entry.key) <= 2 ? "did you mean '\(close)'?" : "the keys are \(keys.joined(separator: ", "))"
            throw ExperimentError(file: file, line: entry.keyMark.line, column: entry.keyMark.column, "unknown key '\(entry.key)'; \(hint)")
        }
        func at(_ node: YAMLNode, _ message: String) -> ExperimentError {
            ExperimentError(file: file, line: node.mark.line, column: node.mark.column, message)
        }
        func required(_ key: String) throws(ExperimentError) -> YAMLNode {
            guard let node = root[key] else { throw ExperimentError(file: file, line: root.mark.line, column: root.mark.column, "the topology has no '\(key)'; add it") }
            return node
        }
        func text(_ node: YAMLNode, _ key: String) throws(ExperimentError) -> String {
            guard let value = node.scalarText else { throw at(node, "'\(key)' must be text, not \(node.kindName)") }
            return value
        }
        func number(_ node: YAMLNode, _ key: String, minimum: Double = 0, strict: Bool = true) throws(ExperimentError) -> Double {
            guard let value = node.scalarText.flatMap(Double.init), value.isFinite, strict ? value > minimum : value >= minimum else {
                throw at(node, "'\(key)' must be a number \(strict ? "above" : "of at least") \(minimum.formatted()), got \(node.scalarText.map { "'\($0)'" } ?? node.kindName)")
            }
            // Every quantity here (GB/s, µs, TFLOPS, fractions, factors) within 1e-6…1e6, as the
            // options of loom sim: 1e308 TFLOPS became inf, 1e-308 GB/s a 300-digit prediction.
            guard value <= 1e6, !strict || value >= 1e-6 else {
                throw at(node, "'\(key)' is \(value); give \(strict ? "1e-6 to " : "at most ")1000000")
            }
            return value
        }
        func integer(_ node: YAMLNode, _ key: String, range: ClosedRange<Int>) throws(ExperimentError) -> Int {
            guard let value = node.scalarText.flatMap({ Int($0) }), range.contains(value) else {
                throw at(node, "'\(key)' must be a whole number in \(range.lowerBound)…\(range.upperBound), got \(node.scalarText.map { "'\($0)'" } ?? node.kindName)")
            }
            return value
        }
        func link(_ key: String) throws(ExperimentError) -> Topology.LinkSpec? {
            guard let node = root[key] else { return nil }
            guard case let .mapping(fields, _) = node else { throw at(node, "'\(key)' is a mapping: {gbytes_per_s: B, latency_us: A, duplex: full}") }
            for field in fields where !["gbytes_per_s", "latency_us", "duplex"].contains(field.key) {
                throw ExperimentError(file: file, line: field.keyMark.line, column: field.keyMark.column,
                                      "unknown key '\(field.key)' in '\(key)'; a link has gbytes_per_s, latency_us and duplex")
            }
            guard let bandwidth = node["gbytes_per_s"] else { throw at(node, "'\(key)' has no gbytes_per_s (GB/s per direction); add it") }
            let latency = try node["latency_us"].map { (n: YAMLNode) throws(ExperimentError) in try number(n, "\(key).latency_us", strict: false) } ?? 0
            var fullDuplex = true
            if let duplex = node["duplex"] {
                switch try text(duplex, "\(key).duplex") {
                case "full": fullDuplex = true
                case "half": fullDuplex = false
                case let other: throw at(duplex, "'\(key).duplex' is full or half, got '\(other)'")
                }
            }
            return .init(bandwidth: try number(bandwidth, "\(key).gbytes_per_s") * 1e9, latency: latency * 1e-6, fullDuplex: fullDuplex)
        }

        let name = try text(try required("name"), "name")
        let source = try text(try required("source"), "source")
        let kindNode = try required("kind")
        let kindText = try text(kindNode, "kind")
        guard let kind = Topology.Kind(rawValue: kindText) else {
            throw at(kindNode, "unknown kind '\(kindText)'; use \(Topology.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let ranksNode = try required("ranks")
        let written = try integer(ranksNode, "ranks", range: 1...65_536)
        let ranks = override ?? written
        if kind == .custom {
            guard override == nil || override == written else { throw at(ranksNode, "a custom topology has the \(written) ranks its links give; drop --workers or write another file") }
            let network = try customNetwork(root, ranks: ranks, file: file, at: at, number: number, integer: integer, text: text)
            return try hostModel(root, Topology(name: name, source: source, kind: kind, ranks: ranks, network: network,
                                                compute: try computeSpec(root, at: at, number: number, file: file), cores: try cores(root, integer)),
                                 at: at, number: number, text: text)
        }
        guard let rankLink = try link("link") else { throw ExperimentError(file: file, line: root.mark.line, column: root.mark.column, "the topology has no 'link'; add {gbytes_per_s: B, latency_us: A}") }
        let groupKey = kind == .pcieTree ? "per_switch" : "per_node"
        let group = try root[groupKey].map { (n: YAMLNode) throws(ExperimentError) in try integer(n, groupKey, range: 1...65_536) } ?? 1
        let perLeaf = try root["nodes_per_leaf"].map { (n: YAMLNode) throws(ExperimentError) in try integer(n, "nodes_per_leaf", range: 1...65_536) } ?? 0
        let oversubscription = try root["oversubscription"].map { (n: YAMLNode) throws(ExperimentError) in try number(n, "oversubscription", minimum: 1, strict: false) } ?? 1
        let compute = try computeSpec(root, at: at, number: number, file: file)
        let uplink = try link("uplink"), nic = try link("nic")
        let network: Network
        do throws(Network.Problem) {
            network = try Topology.network(kind, ranks: ranks, link: rankLink, uplink: uplink, nic: nic,
                                           group: group, nodesPerLeaf: perLeaf, oversubscription: oversubscription)
        } catch {
            throw ExperimentError(file: file, line: kindNode.mark.line, column: kindNode.mark.column, error.description)
        }
        return try hostModel(root, Topology(name: name, source: source, kind: kind, ranks: ranks, network: network, compute: compute,
                                            cores: try cores(root, integer)), at: at, number: number, text: text)
    }

    /// `topology` with the optional `pinned`, `copy_gbytes_per_s` and `all_to_all_efficiency`.
    static func hostModel(_ root: YAMLNode, _ topology: Topology, at: At, number: NumberReader,
                          text: (YAMLNode, String) throws(ExperimentError) -> String) throws(ExperimentError) -> Topology {
        var result = topology
        if let node = root["pinned"] {
            switch try text(node, "pinned") {
            case "true": result.pinned = true
            case "false": result.pinned = false
            case let other: throw at(node, "'pinned' is true or false, got '\(other)'")
            }
            if result.pinned && result.cores == nil { throw at(node, "'pinned' pins ranks to cores; add cores: C (the cores they share)") }
        }
        if let node = root["copy_gbytes_per_s"] {
            let value = try number(node, "copy_gbytes_per_s", 0, true)
            guard value <= 1e6 else { throw at(node, "'copy_gbytes_per_s' is \(value) GB/s; give at most 1000000") }
            result.hostCopyRate = value * 1e9
        }
        if let node = root["all_to_all_efficiency"] {
            let value = try number(node, "all_to_all_efficiency", 0, true)
            guard value <= 1 else { throw at(node, "'all_to_all_efficiency' is a fraction of the links' bandwidth, at most 1, got \(value)") }
            result.allToAllEfficiency = value
        }
        return result
    }

    /// The optional `cores` the ranks share.
    static func cores(_ root: YAMLNode, _ integer: (YAMLNode, String, ClosedRange<Int>) throws(ExperimentError) -> Int) throws(ExperimentError) -> Int? {
        try root["cores"].map { (node: YAMLNode) throws(ExperimentError) in try integer(node, "cores", 1...65_536) }
    }

    typealias At = (YAMLNode, String) -> ExperimentError
    typealias NumberReader = (YAMLNode, String, Double, Bool) throws(ExperimentError) -> Double

    /// The `compute` mapping, if any.
    static func computeSpec(_ root: YAMLNode, at: At, number: NumberReader, file: String) throws(ExperimentError) -> Topology.Compute? {
        guard let node = root["compute"] else { return nil }
        guard case let .mapping(fields, _) = node else { throw at(node, "'compute' is a mapping: {tflops: T, forward: F, backward: B}") }
        let keys = ["tflops", "forward", "backward", "memory_gbytes_per_s", "merge", "transfer_slowdown"]
        for field in fields where !keys.contains(field.key) {
            throw ExperimentError(file: file, line: field.keyMark.line, column: field.keyMark.column,
                                  "unknown key '\(field.key)' in 'compute'; it has tflops, forward, backward, memory_gbytes_per_s, merge and transfer_slowdown")
        }
        func fraction(_ key: String) throws(ExperimentError) -> Double {
            guard let n = node[key] else { throw at(node, "'compute' has no \(key) (the fraction of peak its kernels reach); add it") }
            let value = try number(n, "compute.\(key)", 0, true)
            guard value <= 1 else { throw at(n, "'compute.\(key)' is a fraction of peak, at most 1, got \(value)") }
            return value
        }
        guard let peak = node["tflops"] else { throw at(node, "'compute' has no tflops (the rank's peak); add it") }
        // Merges are modelled only with both the memory's bandwidth and the merges' fraction of it.
        let memory = try node["memory_gbytes_per_s"].map { (n: YAMLNode) throws(ExperimentError) in try number(n, "compute.memory_gbytes_per_s", 0, true) * 1e9 }
        let merge = node["merge"] == nil ? nil : try fraction("merge")
        if (memory == nil) != (merge == nil) {
            throw at(node, "'compute' models merges with both memory_gbytes_per_s (the memory's bandwidth) and merge (the fraction the merges reach); give both or neither")
        }
        var slowdown = 0.0
        if let n = node["transfer_slowdown"] {
            slowdown = try number(n, "compute.transfer_slowdown", 0, false)
            guard slowdown <= 10 else { throw at(n, "'compute.transfer_slowdown' is s in 1/(1 + s), the compute's pace while a transfer is in flight; give 0…10, got \(slowdown)") }
        }
        return .init(peak: try number(peak, "compute.tflops", 0, true) * 1e12, forward: try fraction("forward"), backward: try fraction("backward"),
                     memoryBandwidth: memory, merge: merge, transferSlowdown: slowdown)
    }

    /// A custom topology's network: `nodes` (ranks first, then switches) and `links`, a list of
    /// {from, to, gbytes_per_s, latency_us, duplex}; every rank must reach every other.
    static func customNetwork(_ root: YAMLNode, ranks: Int, file: String, at: At, number: NumberReader,
                              integer: (YAMLNode, String, ClosedRange<Int>) throws(ExperimentError) -> Int,
                              text: (YAMLNode, String) throws(ExperimentError) -> String) throws(ExperimentError) -> Network {
        let nodes = try root["nodes"].map { (n: YAMLNode) throws(ExperimentError) in try integer(n, "nodes", ranks...1_000_000) } ?? ranks
        guard let list = root["links"], case let .sequence(items, _) = list else {
            throw at(root["links"] ?? root, "a custom topology needs 'links': a list of {from, to, gbytes_per_s, latency_us}")
        }
        guard items.count <= 1_000_000 else { throw at(list, "\(items.count) links is more than the 1,000,000 a topology may have") }
        var links: [Network.Link] = []
        for (index, item) in items.enumerated() {
            guard case let .mapping(fields, _) = item else { throw at(item, "link \(index + 1) is a mapping {from, to, gbytes_per_s, latency_us}") }
            for field in fields where !["from", "to", "gbytes_per_s", "latency_us", "duplex"].contains(field.key) {
                throw ExperimentError(file: file, line: field.keyMark.line, column: field.keyMark.column,
                                      "unknown key '\(field.key)' in link \(index + 1); a link has from, to, gbytes_per_s, latency_us and duplex")
            }
            func field(_ key: String) throws(ExperimentError) -> YAMLNode {
                guard let node = item[key] else { throw at(item, "link \(index + 1) has no \(key); add it") }
                return node
            }
            let from = try integer(try field("from"), "from", 0...(nodes - 1)), to = try integer(try field("to"), "to", 0...(nodes - 1))
            guard from != to else { throw at(item, "link \(index + 1) joins node \(from) to itself") }
            let bandwidth = try number(try field("gbytes_per_s"), "gbytes_per_s", 0, true)
            let latency = try item["latency_us"].map { (n: YAMLNode) throws(ExperimentError) in try number(n, "latency_us", 0, false) } ?? 0
            var full = true
            if let duplex = item["duplex"] {
                switch try text(duplex, "duplex") {
                case "full": full = true
                case "half": full = false
                case let other: throw at(duplex, "duplex is full or half, got '\(other)'")
                }
            }
            links.append(Network.Link(from: from, to: to, bandwidth: bandwidth * 1e9, latency: latency * 1e-6, fullDuplex: full))
        }
        do {
            let network = try Network(nodes: nodes, links: links)
            try Topology.checkConnected(network, ranks: ranks)
            return network
        } catch {
            throw at(list, error.description + "; every rank needs a path to every other")
        }
    }

    /// `text` as a double-quoted YAML scalar, for writing a topology file: backslashes and quotes
    /// escaped, control characters (newlines included) replaced by spaces, so nothing in it (a
    /// host name, a CPU model) can end the scalar or start a key.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value): out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Edit distance, for "did you mean".
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(1, b.count) where !b.isEmpty {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }
}
