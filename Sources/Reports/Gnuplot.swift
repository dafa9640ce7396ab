import Foundation

/// Runs gnuplot on a script, as the user would (`gnuplot NAME.gp` in the report directory).
enum Gnuplot {
    /// How long one figure may take; a figure of a few thousand points draws in well under a second.
    static let deadline = Duration.seconds(60)

    /// Runs `/usr/bin/env gnuplot SCRIPT` with `directory` as the working directory.
    /// - Returns: nil on success, else a message naming the script and what gnuplot said.
    static func run(script: String, in directory: URL) -> String? {
        let scriptPath = directory.appendingPathComponent(script).path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gnuplot", script]
        process.currentDirectoryURL = directory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        // A file, not a pipe: a chatty gnuplot could fill a pipe's buffer and block before exiting.
        let errorURL = FileManager.default.temporaryDirectory.appendingPathComponent("loom-gnuplot-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorURL.path, contents: nil),
              let errorHandle = try? FileHandle(forWritingTo: errorURL) else {
            return "\(scriptPath): cannot create a temporary file for gnuplot's messages in \(errorURL.deletingLastPathComponent().path)"
        }
        defer {
            try? errorHandle.close()
            try? FileManager.default.removeItem(at: errorURL)
        }
        process.standardError = errorHandle
        do { try process.run() } catch {
            return "\(scriptPath): cannot start /usr/bin/env gnuplot: \(error.localizedDescription)"
        }
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while process.isRunning && clock.now < end { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            return "\(scriptPath): gnuplot ran past \(deadline) and was stopped"
        }
        process.waitUntilExit()
        let said = ((try? String(contentsOf: errorURL, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        switch process.terminationStatus {
        case 0:
            return nil
        case 127:                                                  // env: the command was not found
            return "\(scriptPath): gnuplot is not installed (on Debian: apt-get install gnuplot-nox); "
                + "the script and its data are written, so run 'gnuplot \(script)' there once it is"
        case let status:
            return "\(scriptPath): gnuplot exited with status \(status)" + (said.isEmpty ? "" : ":\n" + said)
        }
    }
}
