import Foundation

/// How notebook cells summarise and print numbers.
enum Numbers {
    /// The median of `sorted` (ascending, not empty): the middle value, or the mean of the two middle ones.
    static func median(_ sorted: [Double]) -> Double {
        sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    /// A whole number exactly, anything else to 4 significant digits.
    static func shown(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(format: "%.0f", value) : String(format: "%.4g", value)
    }
}
