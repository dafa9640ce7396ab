import Experiments
import Foundation

/// A `gnuplot` cell: the author's own gnuplot script, drawn to `STEM.svg`, typically over the
/// `.dat` files earlier `loom-plot` cells exported beside the page.
///
/// gnuplot can run commands (`system`, `!`, `"< cmd"` data, `set output "| cmd"`) and load
/// plugins, so the script runs inside a bubblewrap sandbox. The sandbox has no network, and
/// /bin/sh is /dev/null inside it, so nothing reaches a shell. Only /usr and the fonts are visible,
/// read-only; there is no home and no /etc beyond fonts. The notebook's output folder is the only
/// place it can write.
struct GnuplotCell {
    let cell: Notebook.Cell
    let directory: URL

    static let maximumScript = 256 << 10

    /// bubblewrap, or nil.
    static var bubblewrap: String? {
        ["/usr/bin/bwrap", "/bin/bwrap"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The `.dat` files of the output folder that the script names, with their contents' digest.
    func inputDigest() -> String {
        var hash = SHA256()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter { $0.hasSuffix(".dat") }.sorted() ?? []
        for name in names where cell.body.contains(name) {
            hash.update(Array(name.utf8))
            if let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) { hash.update(data) }
        }
        return hash.hexDigest()
    }

    func run() throws(NotebookInputError) -> CellOutput {
        guard cell.body.utf8.count <= Self.maximumScript else { throw NotebookInputError("the script is larger than 256 KiB") }
        guard let bwrap = Self.bubblewrap else {
            throw NotebookInputError("gnuplot cells run gnuplot in a bubblewrap sandbox; install it ('make deps' does: Debian package bubblewrap)")
        }
        let gnuplot = URL(fileURLWithPath: "/usr/bin/gnuplot").resolvingSymlinksInPath().path
        guard gnuplot.hasPrefix("/usr/"), FileManager.default.isExecutableFile(atPath: gnuplot) else {
            throw NotebookInputError("gnuplot is not installed under /usr ('make deps' installs gnuplot-nox)")
        }
        let stem = CellRunner.stem(cell)
        let script = "\(stem).gp"
        // Loom's own lines first: the terminal and the output the page shows; the script may change them.
        let text = "# Written by Loom from \(cell.line): the author's script follows the two lines below.\n"
            + "set terminal svg size 640,400 dynamic enhanced font \"sans,11\"\nset output \"\(stem).svg\"\n" + cell.body + "\n"
        let svg = directory.appendingPathComponent("\(stem).svg")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: directory.appendingPathComponent(script), options: .atomic)
            try? FileManager.default.removeItem(at: svg)
        } catch {
            throw NotebookInputError("cannot write \(script): \(error.localizedDescription)")
        }
        var arguments = ["--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                         "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin", "--proc", "/proc", "--dev", "/dev",
                         "--tmpfs", "/tmp", "--bind", directory.path, "/out", "--chdir", "/out",
                         "--unshare-all", "--die-with-parent", "--new-session", "--clearenv", "--setenv", "PATH", "/usr/bin",
                         "--setenv", "HOME", "/tmp"]
        if FileManager.default.fileExists(atPath: "/etc/fonts") { arguments += ["--ro-bind", "/etc/fonts", "/etc/fonts"] }
        // Hide every shell binary: gnuplot's system(), popen() and '!' all need /bin/sh to run a command.
        for shell in ["/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash"] where FileManager.default.fileExists(atPath: shell) {
            arguments += ["--ro-bind", "/dev/null", shell]
        }
        arguments += [gnuplot, script]
        let (status, errors) = Self.execute(bwrap, arguments, timeout: .seconds(60))
        guard status == 0, FileManager.default.fileExists(atPath: svg.path) else {
            throw NotebookInputError("gnuplot (sandboxed) failed with status \(status): \(errors)")
        }
        let caption = cell.option("caption") ?? ""
        let width = cell.option("width").map { $0.hasSuffix("%") ? $0 : "\($0)px" } ?? "100%"
        return CellOutput(markdown: "![\(caption.replacingOccurrences(of: "]", with: "\\]"))](\(stem).svg)",
                          html: "<img src=\"\(HTML.escape(stem)).svg\" alt=\"\(HTML.escape(caption))\" style=\"max-width: \(HTML.escape(width))\">",
                          files: [script, "\(stem).svg"], error: nil)
    }

    /// Runs `program` (no shell), returning its status and the end of its stderr.
    static func execute(_ program: String, _ arguments: [String], timeout: Duration) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gnuplot-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        do {
            process.standardError = try FileHandle(forWritingTo: errors)
            try process.run()
        } catch {
            return (-1, "cannot start \(program): \(error.localizedDescription)")
        }
        let end = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(-process.processIdentifier, SIGKILL)
            process.terminate()
            process.waitUntilExit()
            return (-1, "stopped after \(timeout)")
        }
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        let tail = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.suffix(4).joined(separator: " | ")
        return (process.terminationStatus, String(tail.prefix(600)))
    }
}
