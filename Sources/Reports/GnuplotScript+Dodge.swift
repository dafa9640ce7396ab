import Foundation

extension GnuplotScript {
    /// Two medians at one x closer than this share of the y range would draw on each other.
    static let overlapShare = 0.02
    /// Neighbouring dodged series sit this share of the smallest gap between x values apart.
    static let dodgeShare = 0.08

    /// How far each series' markers are shifted along x (in log10 units on a log axis), by series
    /// number, so series with nearly equal values stay visible side by side; empty when no two
    /// distinct series of a panel overlap, or on a categorical axis (its tics follow the points).
    /// Identical series are merged instead (`identicalGroups`), so they are not dodged apart.
    var dodge: [Int: Double] {
        guard !data.isCategorical else { return [:] }
        let toX = { (x: Double) in self.figure.logX ? log10(x) : x }
        let toY = { (y: Double) in self.figure.logY ? log10(y) : y }
        let points = data.panels.flatMap { $0.series.flatMap(\.points) }
            .filter { (!figure.logX || $0.position > 0) && (!figure.logY || $0.median > 0) }
        let ys = points.map { toY($0.median) }
        guard let low = ys.min(), let high = ys.max(), high > low else { return [:] }
        let close = (high - low) * GnuplotScript.overlapShare
        var overlapping = false
        var drawn: Set<Int> = []
        for panel in data.panels {
            let firsts = GnuplotScript.identicalGroups(panel.series).keys.sorted()
            drawn.formUnion(firsts.map { panel.series[$0].number })
            for (i, a) in firsts.enumerated() {
                for b in firsts[(i + 1)...] {
                    let medians = Dictionary(panel.series[a].points.map { ($0.position, $0.median) }, uniquingKeysWith: { first, _ in first })
                    overlapping = overlapping || panel.series[b].points.contains { point in
                        guard let other = medians[point.position], !figure.logY || (other > 0 && point.median > 0) else { return false }
                        return abs(toY(other) - toY(point.median)) < close
                    }
                }
            }
        }
        guard overlapping, drawn.count > 1 else { return [:] }
        let xs = Set(points.map { toX($0.position) }).sorted()
        let gaps = zip(xs, xs.dropFirst()).map { $1 - $0 }
        let step = (gaps.min() ?? 1) * GnuplotScript.dodgeShare
        let order = drawn.sorted()
        let middle = Double(order.count - 1) / 2
        return Dictionary(uniqueKeysWithValues: order.enumerated().map { ($0.element, (Double($0.offset) - middle) * step) })
    }

    /// The `using` column for x, shifted by `offset`: `1`, `($1+0.5)` or, on a log axis, `($1*10**0.03)`.
    func dodgedX(_ offset: Double?) -> String {
        guard let offset, offset != 0 else { return "1" }
        return figure.logX ? "($1*10**(\(FigureData.number(offset))))" : "($1+(\(FigureData.number(offset))))"
    }
}
