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

    /// The CPU model from /proc/cpuinfo, or `unknown` where that file does not exist.
    static var cpuModel: String {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in info.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingSpaces
            }
        }
        return "unknown"
    }
}
