import Experiments
import Foundation
import Reports
import TensorCore
import Wire

/// What produced a set of runs: the git state of the experiment file's repository, this Loom,
/// this machine and the libraries as linked.
enum RunProvenance {
    static func collect(for file: String) -> ResultsStore.Provenance {
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent().path
        let commit = git(["rev-parse", "HEAD"], in: directory)
        let dirty = commit == nil ? nil : !(git(["status", "--porcelain", "--untracked-files=no"], in: directory) ?? "").isEmpty
        return ResultsStore.Provenance(
            command: (["loom"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            gitCommit: commit, gitDirty: dirty, loomVersion: Provenance.loomVersion,
            loomBuild: "\(Provenance.build) \(Provenance.commit)", host: Provenance.host,
            libraries: ["libzmq": WireInfo.zeroMQVersion, "OpenBLAS": BLAS.version, "SQLite": StoreInfo.sqliteVersion,
                        "libyaml": ExperimentFileInfo.yamlVersion, "Graphviz": GraphInfo.graphvizVersion],
            code: code)
    }

    /// This build's code: the hash of its sources and its commit (the cache keys results on it).
    static var code: CodeIdentity { CodeIdentity(hash: BuildInfo.codeHash, commit: Provenance.commit) }

    /// A git command's trimmed output, or nil when git or the repository is missing.
    private static func git(_ arguments: [String], in directory: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory.isEmpty ? "." : directory] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
