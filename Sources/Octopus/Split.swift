/// Which half of the data an example belongs to. Train and test use disjoint query templates,
/// so test accuracy measures generalisation to unseen phrasings, not recall of seen ones.
public enum Split: String, CaseIterable, Sendable, Codable {
    case train
    case test
}
