import Foundation
import Octopus

/// `loom graph draw FILE`: checks a graph file and draws it with Graphviz.
enum GraphDrawCommand: Command {
    static let words = ["graph", "draw"]
    static let summary = "check a graph of models (Octopus) and draw it with Graphviz (DOT, SVG, PDF)"
    static let usage = "loom graph draw FILE [--out DIR]"
    static let options: [Option] = [
        .value("out", "DIR", "where to write NAME.dot, NAME.svg and NAME.pdf (default: beside FILE)"),
    ]
    static let acceptsPositionals = true
    static let discussion = """
        FILE is a graph file (docs/octopus.md): nodes with a role (master, worker, general), a model \
        shape and the domain or corpus they are trained on; edges from, to and the functional token \
        that takes them. The whole file is checked first and every problem printed as \
        file:line:column: message. The drawing names the graph's activated and total parameters; \
        after an evaluation the same drawing carries routing accuracy, each worker's accuracy, the \
        share of queries per edge and the misroutes.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        guard let path = arguments.positionals.first else { throw .usage("give the graph file: loom graph draw FILE") }
        guard arguments.positionals.count == 1 else {
            throw .usage("one graph file at a time; got \(arguments.positionals.count): \(arguments.positionals.joined(separator: " "))")
        }
        let graph: ModelGraph
        do { graph = try ModelGraphFile.load(path) } catch { throw .usage(error.description) }
        let out = URL(fileURLWithPath: arguments.string("out") ?? URL(fileURLWithPath: path).deletingLastPathComponent().path)
        do { try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true) } catch {
            throw .failure("cannot create \(out.path): \(error.localizedDescription)")
        }
        let files: [String]
        do { files = try ModelGraphDrawing.write(graph, name: graph.name, into: out) } catch { throw .failure(error.description) }
        let workers = graph.nodes.filter { $0.role != .master }.count
        Console.output("\(graph.name): 1 master, \(workers) worker(s), \(graph.edges.count) edge(s); "
                       + "activated \(graph.activatedParameters) and total \(graph.totalParameters) parameters")
        for file in files { Console.output(out.appendingPathComponent(file).path) }
    }
}
