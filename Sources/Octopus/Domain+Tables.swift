/// The fixed data behind ENC and FACT, written in code so every machine answers alike.
extension Domain {
    /// The cipher of ENC: letter i of the alphabet becomes letter i of this QWERTY-ordered
    /// permutation (a→q, b→w, …, z→m), a bijection on a–z.
    public static let cipher: [Character] = Array("qwertyuiopasdfghjklzxcvbnm")

    /// The table of FACT: 20 countries and their capitals, all lowercase a–z of 3–8 letters, so
    /// an answer can feed REV, SORT, ENC or CNT in a two-hop chain.
    public static let facts: KeyValuePairs<String, String> = [
        "france": "paris", "italy": "rome", "spain": "madrid", "japan": "tokyo",
        "egypt": "cairo", "peru": "lima", "chile": "santiago", "kenya": "nairobi",
        "norway": "oslo", "greece": "athens", "poland": "warsaw", "cuba": "havana",
        "russia": "moscow", "china": "beijing", "india": "delhi", "iran": "tehran",
        "iraq": "baghdad", "austria": "vienna", "ireland": "dublin", "hungary": "budapest",
    ]

    /// `facts` as a dictionary for lookups.
    static let factTable: [String: String] = Dictionary(uniqueKeysWithValues: facts.map { ($0.key, $0.value) })
}
