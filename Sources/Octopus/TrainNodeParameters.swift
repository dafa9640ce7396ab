import Models
import Tasks

/// The parameters of `octopus.train`: a graph file, the node to train, and how.
public struct TrainNodeParameters: TaskParameters {
    public static let declaration: [ParameterSpec] = [
        ParameterSpec("graph", .string, default: .string(""), "the graph file (docs/octopus.md)", input: true),
        ParameterSpec("node", .string, default: .string(""), "the node to train (its role says on what)"),
        ParameterSpec("data", .string, default: .string("node"),
                      "node: what the node's role says; generalist: the baseline on raw queries → answers, of the node's shape (needs checkpoint_dir)",
                      choices: ["node", "generalist"]),
        ParameterSpec("layers", .int, default: .int(0),
                      "data: generalist only: layers of the baseline (0: the node's), to match the graph's activated or total parameters",
                      minimum: 0, maximum: 64),
        ParameterSpec("d_model", .int, default: .int(0), "data: generalist only: width of the baseline (0: the node's)", minimum: 0, maximum: 4096),
        ParameterSpec("steps", .int, default: .int(2000), "training steps", minimum: 1, maximum: 10_000_000),
        ParameterSpec("batch", .int, default: .int(32), "examples per step", minimum: 1, maximum: 4096),
        ParameterSpec("lr", .double, default: .double(3e-3), "AdamW learning rate (constant)", minimum: 0, maximum: 1),
        ParameterSpec("seed", .int, default: .int(0), "seed of the initial weights", minimum: 0),
        ParameterSpec("data_seed", .int, default: .int(1), "seed of the generated examples and the batches", minimum: 0),
        ParameterSpec("examples", .int, default: .int(20_000), "generated training examples (train templates)", minimum: 1,
                      maximum: Double(QueryGenerator.maximumCount)),
        ParameterSpec("test_examples", .int, default: .int(500), "generated test examples (the disjoint test templates)", minimum: 1,
                      maximum: 100_000),
        ParameterSpec("chain_share", .double, default: .double(0.25),
                      "two-hop chains added, as a share of examples, for a master or worker that takes part in chains the graph carries",
                      minimum: 0, maximum: 4),
        ParameterSpec("evaluate_every", .int, default: .int(200), "measure the test loss every N steps", minimum: 1),
        ParameterSpec("checkpoint_dir", .string, default: .string(""), "write the model here (empty: the node's checkpoint in the graph file)"),
        ParameterSpec("threads", .int, default: .int(0), "threads (0: all cores)", minimum: 0, maximum: 256),
    ]

    let graph: String, node: String, data: String
    let layers: Int, dModel: Int
    let steps: Int, batch: Int, lr: Double, seed: Int, dataSeed: Int
    let examples: Int, testExamples: Int, evaluateEvery: Int, chainShare: Double
    let checkpointDir: String, threads: Int

    public init(_ values: ResolvedParameters) {
        graph = values.string("graph"); node = values.string("node"); data = values.string("data")
        layers = values.int("layers"); dModel = values.int("d_model")
        steps = values.int("steps"); batch = values.int("batch"); lr = values.double("lr")
        seed = values.int("seed"); dataSeed = values.int("data_seed")
        examples = values.int("examples"); testExamples = values.int("test_examples"); evaluateEvery = values.int("evaluate_every")
        chainShare = values.double("chain_share")
        checkpointDir = values.string("checkpoint_dir"); threads = values.int("threads")
    }

    public func check(gangSize: Int) throws(ParameterProblem) {
        guard !graph.isEmpty else { throw ParameterProblem("octopus.train needs graph: a graph file (see docs/octopus.md)") }
        guard !node.isEmpty else { throw ParameterProblem("octopus.train needs node: the name of the node to train") }
        guard data == "node" || !checkpointDir.isEmpty else {
            throw ParameterProblem("data: generalist trains a baseline, not the node: give checkpoint_dir, where its model goes")
        }
        guard data == "generalist" || (layers == 0 && dModel == 0) else {
            throw ParameterProblem("layers and d_model reshape the generalist baseline only; a node trains at its graph shape (change the graph file instead)")
        }
        // The graph file is small: read it now, so a wrong file or node stops the sweep before any run.
        do throws(OctopusError) { _ = try resolve() } catch { throw ParameterProblem(error.description) }
    }

    /// The graph, the node, and the training configuration for it.
    /// - Throws: `OctopusError` for a graph file with problems or an unknown node.
    func resolve() throws(OctopusError) -> (ModelGraph, ModelGraph.Node) {
        let graph = try ModelGraphFile.load(self.graph)
        guard let node = graph.node(node) else {
            throw .configuration("the graph \(graph.name) has no node '\(self.node)'; its nodes are \(graph.nodes.map(\.name).joined(separator: ", "))")
        }
        return (graph, node)
    }

    /// The shape trained: the node's, with `layers` and `d_model` in place where given.
    /// - Throws: `OctopusError` when the width is not a multiple of the node's heads.
    func shape(of node: ModelGraph.Node) throws(OctopusError) -> ModelGraph.Shape {
        var shape = node.shape
        if layers > 0 { shape.layers = layers }
        if dModel > 0 {
            guard dModel % shape.heads == 0 else {
                throw .configuration("d_model \(dModel) is not a multiple of the node's \(shape.heads) heads; use a multiple of \(shape.heads)")
            }
            shape.dModel = dModel
        }
        return shape
    }

    func configuration(_ model: ModelConfig) throws(ModelError) -> TrainingConfig {
        let config = TrainingConfig(model: model, optimizer: .adamw(), schedule: .constant(Float(lr)), steps: steps, batch: batch,
                                    seed: UInt64(seed), dataSeed: UInt64(dataSeed), clipNorm: 1, evaluateEvery: evaluateEvery,
                                    evaluationBatch: min(testExamples, 128))
        try config.validate()
        return config
    }
}
