import Foundation

/// Where this `loom` came from and where it runs: for `loom version` and every benchmark header.
enum Provenance {
    /// Loom's release version.
    static let loomVersion = "0.1.0"

    /// The git commit of the build, `-dirty` when tracked files differed from it, or `unknown`
    /// when the source had no git (the BuildInfo plugin writes these before each build).
    static var commit: String {
        BuildInfo.commit + (BuildInfo.isDirty ? "-dirty" : "")
    }

    /// `debug` or `release`: debug timings mean nothing, so benchmarks print this.
    static var build: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// Whether this is an optimised build.
    static var isRelease: Bool { build == "release" }

    /// The machine's host name.
    static var host: String { ProcessInfo.processInfo.hostName }

    /// The CPU from /proc/cpuinfo: its model name, family and model, and the widest vector
    /// extension its flags list, e.g. `AMD EPYC (family 25 model 17, AVX-512F)`: a virtual
    /// machine's model name alone ("AMD EPYC") does not tell Zen 2 from Zen 4. `unknown` where
    /// the file does not exist.
    static let cpuModel: String = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        return describeCPU(cpuinfo: info)
    }()

    /// The description `cpuModel` gives, from the text of /proc/cpuinfo (its first processor).
    static func describeCPU(cpuinfo: String) -> String {
        var fields: [String: String] = [:]
        for line in cpuinfo.split(separator: "\n", omittingEmptySubsequences: false) {
            func trimmed(_ text: Substring) -> String { text.trimmingCharacters(in: .whitespaces) }
            if trimmed(line).isEmpty { if !fields.isEmpty { break } else { continue } }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = trimmed(line[..<colon])
            if fields[key] == nil { fields[key] = trimmed(line[line.index(after: colon)...]) }
        }
        let flags = Set((fields["flags"] ?? "").split(separator: " ").map(String.init))
        let vector = flags.contains("avx512f") ? "AVX-512F" : flags.contains("avx2") && flags.contains("fma") ? "AVX2+FMA"
            : flags.isEmpty ? nil : "no AVX2"
        let details = [fields["cpu family"].map { "family \($0)" }.map { family in fields["model"].map { "\(family) model \($0)" } ?? family },
                       vector].compactMap { $0 }
        let name = fields["model name"] ?? "unknown"
        return details.isEmpty ? name : "\(name) (\(details.joined(separator: ", ")))"
    }
}
