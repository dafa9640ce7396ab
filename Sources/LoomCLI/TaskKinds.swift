import Cluster
import SequenceParallel

/// Every task kind `loom` knows: the runtime's own and those of the studies. Workers run them;
/// coordinators and `loom submit` check submissions against them.
enum LoomTasks {
    static var registry: TaskRegistry {
        var registry = TaskRegistry.builtIn
        for kind in SequenceParallelKinds.all { registry.register(kind) }
        registry.register(TrainKind.kind)
        return registry
    }
}
