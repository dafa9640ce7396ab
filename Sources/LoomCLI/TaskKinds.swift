import ActiveDormant
import Cluster
import DuoLLM
import Octopus
import SequenceParallel
import Simulator

/// Every task kind `loom` knows: the runtime's own and those of the studies. Workers run them;
/// coordinators and `loom submit` check submissions against them.
enum LoomTasks {
    /// The production kinds; a test-only kind is refused with how to enable it.
    static var registry: TaskRegistry { registry(testKinds: false) }

    /// The kinds, with the test-only ones (`--test-kinds`) when `testKinds`.
    static func registry(testKinds: Bool) -> TaskRegistry {
        var registry = TaskRegistry.builtIn(includingTestKinds: testKinds)
        for kind in SequenceParallelKinds.all { registry.register(kind) }
        registry.register(TrainKind.kind)
        for kind in [TrainDuoKind.kind, OracleKind.kind, RouterKind.kind] { registry.register(kind) }
        for kind in [TrainNodeKind.kind, GenerateKind.kind, EvaluateGraphKind.kind] { registry.register(kind) }
        registry.register(SimRunKind.kind)
        return registry
    }
}
