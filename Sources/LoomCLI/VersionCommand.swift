import Foundation
import Experiments
import Reports
import TensorCore
import Wire

/// `loom version`: Loom's version and commit, and the C libraries as linked at run time.
enum VersionCommand: Command {
    static let words = ["version"]
    static let summary = "the versions of Loom and of the libraries it runs on"
    static let usage = "loom version"
    static let options: [Option] = []
    static let discussion = """
        Library versions are what the loaded shared libraries report (zmq_version, openblas_get_config, \
        gvcVersion, yaml_get_version_string, sqlite3_libversion), not the headers Loom was built \
        with. The commit is the git HEAD of the source tree at build time, '-dirty' when tracked \
        files differed from it, or 'unknown' when the tree had no git.
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let rows: [(String, String)] = [
            ("libzmq", WireInfo.zeroMQVersion),
            ("OpenBLAS", "\(BLAS.version) (\(BLASCore.summary), \(BLAS.threadCount) threads)"),
            ("Graphviz", GraphInfo.graphvizVersion),
            ("libyaml", ExperimentFileInfo.yamlVersion),
            ("SQLite", StoreInfo.sqliteVersion),
            ("SIMD", SIMDTarget.name),
            ("CPU", "\(Provenance.cpuModel), \(Parallel.activeCores) core\(Parallel.activeCores == 1 ? "" : "s")"
                + (Parallel.activeCores < Parallel.onlineCores ? " allowed of \(Parallel.onlineCores) online" : "")),
        ]
        Console.output("loom \(Provenance.loomVersion) (commit \(Provenance.commit), \(Provenance.build) build)")
        for (name, version) in rows {
            Console.output(name.padding(10) + version)
        }
    }
}
