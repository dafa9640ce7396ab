import Tasks

extension RunPlan {
    /// The cache key of a run: a hash of the task kind and its version, the resolved parameters
    /// (the seed among them) and the repetition, as 16 hex digits (64-bit FNV-1a). Every
    /// repetition is its own run, even of a kind without a seed. The code that computed a result
    /// is compared apart (`decide`), so the plan can say which commit a result came from.
    public static func cacheKey(task: String, kindVersion: Int, params: [String: ParameterValue], repetition: Int) -> String {
        fnv1aHex(task + "\u{1}v\(kindVersion)\u{1}r\(repetition)\u{1}"
                 + params.keys.sorted().map { "\($0)=\(params[$0]!.json)" }.joined(separator: "\u{1}"))
    }
}

/// 64-bit FNV-1a of `text`'s UTF-8 bytes as 16 hex digits: short stable names (cache keys,
/// lock files), not a defence against anyone choosing collisions.
func fnv1aHex(_ text: String) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
    let digits = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
}
