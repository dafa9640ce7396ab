import Foundation

/// The whole notebook as one PDF, printed by headless Chromium from the rendered page: the same
/// layout a reader sees, from a Debian package already used to check pages (a LaTeX route would
/// need hundreds of megabytes of TeX and a second rendering of every table and figure).
enum NotebookPDF {
    /// Chromium on PATH, or nil.
    static var chromium: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in ["chromium", "chromium-browser"] where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return URL(fileURLWithPath: "\(directory)/\(name)")
            }
        }
        return nil
    }

    /// Prints `page` to `pdf`. Returns nil on success, else why not (the render goes on without it).
    static func print(_ page: URL, to pdf: URL, timeout: Duration = .seconds(60)) -> String? {
        guard let chromium else { return "no PDF: chromium is not installed ('make deps' installs it)" }
        let temporary = pdf.deletingLastPathComponent().appendingPathComponent(".\(pdf.lastPathComponent).partial")
        try? FileManager.default.removeItem(at: temporary)
        let process = Process()
        process.executableURL = chromium
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--no-pdf-header-footer", "--print-to-pdf=\(temporary.path)", page.absoluteString]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return "no PDF: cannot start \(chromium.path): \(error.localizedDescription)" }
        let end = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < end { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            kill(-process.processIdentifier, SIGKILL)
            process.terminate()
            return "no PDF: chromium did not finish within \(timeout)"
        }
        guard let size = (try? FileManager.default.attributesOfItem(atPath: temporary.path))?[.size] as? Int, size > 0 else {
            return "no PDF: chromium exited with status \(process.terminationStatus) and wrote nothing"
        }
        try? FileManager.default.removeItem(at: pdf)
        do { try FileManager.default.moveItem(at: temporary, to: pdf) } catch { return "no PDF: \(error.localizedDescription)" }
        return nil
    }
}
