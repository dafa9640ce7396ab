/// "Did you mean …?": the one rule every suggestion in Loom follows (options, commands, keys of a
/// file, parameters, metric names, choices).
///
/// The candidate closest to `word` by edit distance, ignoring case, if it is close enough to be a
/// likely typo: at most 2 edits, or a third of the longer word for long words; else the first
/// candidate that `word` begins (`zigzag` → `zigzag_ring`).
public func nearestName(to word: String, among candidates: [String]) -> String? {
    let lowered = word.lowercased()
    var best: (candidate: String, distance: Int)?
    for candidate in candidates {
        let distance = editDistance(lowered, candidate.lowercased())
        if best == nil || distance < best!.distance { best = (candidate, distance) }
    }
    guard let best else { return nil }
    if best.distance <= max(2, max(word.count, best.candidate.count) / 3) { return best.candidate }
    if !lowered.isEmpty, let prefixed = candidates.first(where: { $0.lowercased().hasPrefix(lowered) }) {
        return prefixed
    }
    return nil
}

/// Levenshtein distance (insert, delete, substitute each cost 1), with one rolling row.
/// - Complexity: O(|a|·|b|), for words of a few dozen characters.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var row = Array(0...b.count)
    for i in 1...a.count {
        var diagonal = row[0]
        row[0] = i
        for j in stride(from: 1, through: b.count, by: 1) {
            let above = row[j]
            row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
            diagonal = above
        }
    }
    return row[b.count]
}
