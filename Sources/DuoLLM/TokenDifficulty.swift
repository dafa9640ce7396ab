import Foundation
import Models

/// Token difficulty in a complete `CE[r, t]` (either reading): per token, the loss reduction from
/// the all-small route to its best big/small route, against its position and its all-big loss.
public struct TokenDifficulty: Sendable, Equatable {
    /// Tokens per sequence: token t is at position t mod context of sequence t / context.
    public let context: Int
    /// Per token, nats: the all-small, all-big and best big/small route's CE.
    public let allSmall: [Float], allBig: [Float], best: [Float]
    /// `meanReductionByPosition[p]`: the mean of `reduction` over tokens at position p.
    public let meanReductionByPosition: [Double]
    /// Pearson correlations of the reduction with the position and with the all-big loss (nil
    /// when either has no variance).
    public let correlationWithPosition: Double?
    public let correlationWithAllBig: Double?

    /// Per token, `allSmall − best` (≥ 0: all small is one of the candidates).
    public var reduction: [Double] { zip(allSmall, best).map { Double($0) - Double($1) } }
    /// The mean reduction over tokens binned by their all-big loss, in bins of `binWidth` nats
    /// (the last bin takes every loss above `binWidth · maximumBins`), each bin named by its
    /// lower edge in 0.01 nats; empty bins are left out. A report draws it with `x: step`.
    public var meanReductionByAllBigLoss: [(centinats: Int, mean: Double)] {
        var sums = [Double](repeating: 0, count: Self.maximumBins), counts = [Int](repeating: 0, count: Self.maximumBins)
        for (loss, value) in zip(allBig, reduction) where loss.isFinite {
            let bin = min(Self.maximumBins - 1, max(0, Int(Double(loss) / Self.binWidth)))
            sums[bin] += value; counts[bin] += 1
        }
        return (0..<Self.maximumBins).filter { counts[$0] > 0 }.map { (Int((Double($0) * Self.binWidth * 100).rounded()), sums[$0] / Double(counts[$0])) }
    }
    static let binWidth = 0.25
    static let maximumBins = 80

    /// The mean reduction over all tokens.
    public var meanReduction: Double { reduction.reduce(0, +) / Double(max(1, reduction.count)) }

    /// - Throws: `ModelError.configuration` for an incomplete slice or tokens that are not whole
    ///   sequences of `context`.
    public init(_ losses: RouteLosses, context: Int) throws(ModelError) {
        guard losses.isComplete else {
            throw .configuration("token difficulty needs every route: this slice holds routes \(losses.first) ..< \(losses.first + losses.count) of \(losses.routes.count)")
        }
        guard context >= 1, losses.tokens % context == 0 else {
            throw .configuration("\(losses.tokens) tokens are not whole sequences of \(context)")
        }
        let set = losses.routes, n = losses.tokens
        let small = try set.index(of: Array(repeating: .small, count: set.layers))
        let candidates = (0..<set.count).filter { set.isBigSmall($0) }
        self.context = context
        allSmall = Array(losses.values[(small * n)..<((small + 1) * n)])
        allBig = Array(losses.values[0..<n])
        best = (0..<n).map { t in candidates.reduce(Float.infinity) { min($0, losses.values[$1 * n + t]) } }
        let reduction = zip(allSmall, best).map { Double($0) - Double($1) }
        var sums = [Double](repeating: 0, count: context)
        for (t, value) in reduction.enumerated() { sums[t % context] += value }
        meanReductionByPosition = sums.map { $0 / Double(n / context) }
        correlationWithPosition = Self.pearson((0..<n).map { Double($0 % context) }, reduction)
        correlationWithAllBig = Self.pearson(allBig.map(Double.init), reduction)
    }

    /// Pearson's r, or nil when either series is constant (or not finite).
    static func pearson(_ x: [Double], _ y: [Double]) -> Double? {
        let n = Double(x.count)
        guard x.count == y.count, x.count >= 2 else { return nil }
        let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        let r = sxy / (sxx * syy).squareRoot()
        return sxx > 0 && syy > 0 && r.isFinite ? r : nil
    }

    /// The table as CSV, one row per token:
    /// `t,sequence,position,ce_all_small,ce_all_big,ce_best,reduction`. Every field is a number
    /// Loom formats, so nothing needs quoting.
    public var csv: String {
        var text = "t,sequence,position,ce_all_small,ce_all_big,ce_best,reduction\n"
        for t in allSmall.indices {
            text += "\(t),\(t / context),\(t % context),\(allSmall[t]),\(allBig[t]),\(best[t]),\(Double(allSmall[t]) - Double(best[t]))\n"
        }
        return text
    }
}
