// Graphviz's headers declare mutable globals (`Agdirected`, …) that Swift 6 rejects as shared
// mutable state; `@preconcurrency` admits them. Loom reads none of them here.
@preconcurrency internal import CGraphviz

/// Facts about the Graphviz library that draws graphs, for `loom version` and run provenance.
public enum GraphInfo {
    /// The Graphviz version linked at run time (from `gvcVersion`), e.g. `2.43.0`, or `unknown`
    /// when no Graphviz context can be created.
    ///
    /// `gvcVersion` needs a context, so one is made (which loads the plugin configuration) and freed
    /// for the call: read it once, not in a loop.
    public static var graphvizVersion: String {
        guard let context = gvContext() else { return "unknown" }
        defer { gvFreeContext(context) }
        guard let text = gvcVersion(context) else { return "unknown" }
        return String(cString: text)
    }
}
