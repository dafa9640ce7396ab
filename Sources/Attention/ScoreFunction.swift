/// How scores s = scale·q·k become attention weights.
///
/// - softmax: `A[i,j] = exp(s[i,j] − lse[i])`, `lse[i] = log Σ_visible exp(s[i,j])`.
/// - relu (the active-dormant study): `A[i,j] = ReLU(s[i,j]) / N[i]`, N[i] the number of visible
///   keys; no normalisation over keys.
/// - softplus: `A[i,j] = log(1 + exp(s[i,j])) / N[i]`, a smooth ReLU with the same normalisation.
///
/// For relu and softplus the returned `lse[i]` is `log N[i]`: partial results over disjoint key
/// sets then merge with the same stable rule as softmax (weights N_a/N and N_b/N), so sharded
/// schedules treat every score function alike. A query that sees no key has out = 0, lse = −∞.
public enum ScoreFunction: String, Sendable, Hashable, CaseIterable {
    case softmax, relu, softplus
}
