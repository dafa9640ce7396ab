/// The indices `0..<count` not yet taken, where taking the k-th remaining one costs O(log count).
///
/// A Fenwick tree of ones: sampling n of N without replacement is O(N + n log N) and draws the
/// same indices, in the same order, as removing the k-th element from an array (which is O(N)
/// per draw, so a large pool took quadratic time).
struct RemainingIndices {
    /// 1-based: `tree[i]` counts the remaining indices in `(i − lowbit(i), i]`.
    private var tree: [Int]
    /// How many indices remain.
    private(set) var count: Int

    init(count: Int) {
        precondition(count >= 0, "a count of indices is never negative")
        tree = (0...count).map { $0 & -$0 }      // every index present: each node covers lowbit(i) ones
        self.count = count
    }

    /// Removes and returns the `k`-th (0-based) remaining index.
    /// - Precondition: `0 <= k < count`.
    /// - Complexity: O(log of the initial count).
    mutating func take(_ k: Int) -> Int {
        precondition(k >= 0 && k < count, "index \(k) of \(count) remaining")
        var position = 0, wanted = k + 1
        var step = 1
        while step * 2 < tree.count { step *= 2 }
        while step > 0 {          // the largest position whose prefix holds fewer than `wanted`
            let next = position + step
            if next < tree.count && tree[next] < wanted {
                position = next
                wanted -= tree[next]
            }
            step /= 2
        }
        var node = position + 1
        while node < tree.count {
            tree[node] -= 1
            node += node & -node
        }
        count -= 1
        return position
    }
}
