import Experiments
import Tasks

extension ReportSpec {
    /// Reads a figure's `minimize:` or `maximize:` and checks what a `winner` figure needs: exactly
    /// one of the two, a `series`, and x and y that are distinct parameters (its columns and rows).
    /// - Returns: the objective of a winner figure, nil for other kinds.
    /// - Throws: `ExperimentError` at the offending node: an objective on another kind, none or both
    ///   on a winner figure, a missing `series`, x or y not a parameter (with the nearest one), a
    ///   parameter used twice, or `logx`, `logy` or `reference`, which a grid of cells cannot show.
    static func parseObjective(_ item: YAMLNode, figure: FigureSpec, parameters: Set<String>,
                               fail: (String, YAMLNode) -> ExperimentError) throws(ExperimentError) -> FigureSpec.Objective? {
        let name = figure.name
        let given = FigureSpec.Objective.Direction.allCases.compactMap { direction in item[direction.rawValue].map { (direction, $0) } }
        guard figure.kind == .winner else {
            if let (direction, node) = given.first {
                throw fail("'\(direction.rawValue)' is for winner figures (kind: winner); figure '\(name)' is a \(figure.kind.rawValue) "
                           + "figure, which plots its 'y' metric: drop '\(direction.rawValue)' or set kind: winner", node)
            }
            return nil
        }
        guard let (direction, node) = given.first else {
            throw fail("winner figure '\(name)' needs the metric it compares: 'minimize' (for example minimize: sim.predicted_s) "
                       + "or 'maximize' (for example maximize: gflops)", item)
        }
        guard given.count == 1 else {
            throw fail("winner figure '\(name)' has both 'minimize' and 'maximize'; it compares one metric one way: keep one", given[1].1)
        }
        guard case let .scalar(metric, _, _) = node, !metric.isEmpty else {
            throw fail("'\(direction.rawValue)' of figure '\(name)' takes a metric name (for example \(direction.rawValue): sim.predicted_s); "
                       + "this is \(node.kindName)", node)
        }
        guard let series = figure.series else {
            throw fail("winner figure '\(name)' needs 'series': the parameter whose values compete (for example series: algorithm)", item)
        }
        guard figure.alsoY.isEmpty else {
            throw fail("'y' of winner figure '\(name)' is one parameter (the rows), not a list; the metric goes in '\(direction.rawValue)'",
                       item["y"]!)
        }
        for (key, parameter) in [("x", figure.x), ("y", figure.y)] where !parameters.contains(parameter) {
            var message = "\(key) '\(parameter)' of winner figure '\(name)' is not a parameter of this experiment"
            if let near = nearestName(to: parameter, among: parameters.sorted()) { message += "; did you mean '\(near)'?" }
            message += " (a winner figure's x and y are parameters, its columns and rows, and its metric goes in '\(direction.rawValue)'; "
                + "parameters: \(parameters.sorted().joined(separator: ", ")))"
            throw fail(message, item[key]!)
        }
        let roles = [("x", figure.x), ("y", figure.y), ("series", series)] + (figure.facet.map { [("facet", $0)] } ?? [])
        for (offset, role) in roles.enumerated() {
            if let earlier = roles[..<offset].first(where: { $0.1 == role.1 }) {
                throw fail("winner figure '\(name)' uses '\(role.1)' for both \(earlier.0) and \(role.0); each needs its own parameter", item[role.0]!)
            }
        }
        // Cells sit evenly in sorted order (a sweep in powers of two already reads like a log axis),
        // so a log scale would change nothing: refuse it rather than ignore it.
        for key in ["logx", "logy"] {
            if let value = item[key], case .scalar("true", false, _) = value {
                throw fail("winner figure '\(name)' draws x and y as cells, evenly spaced in sorted order, so '\(key)' has no scale to change; "
                           + "drop it", value)
            }
        }
        if let reference = item["reference"] {
            throw fail("winner figure '\(name)' has no y axis to draw published points on; 'reference' is for line and scatter figures", reference)
        }
        return FigureSpec.Objective(direction, metric)
    }
}
