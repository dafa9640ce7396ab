import Foundation

/// Debian's chromium, run headless on a page with a probe script added, so a test can ask what a
/// real browser laid out: the probe writes a JSON object into the DOM that `--dump-dom` prints.
public struct HeadlessChromium {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "chromium is not installed, so the report page cannot be checked in a browser; 'make deps' installs it (Debian package chromium)"
        }
    }

    public struct Result {
        /// What the probe wrote (`JSON.stringify` of its object), decoded.
        public var probe: [String: Any]
        /// The browser's console lines (`:CONSOLE` in its log): messages and uncaught errors.
        public var console: [String]
    }

    public let executable: URL

    /// Finds `chromium` on the PATH.
    /// - Throws: `Missing` (saying that `make deps` installs it) when there is none.
    public init() throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let directory = path.split(separator: ":").first(where: {
            FileManager.default.isExecutableFile(atPath: "\($0)/chromium")
        }) else { throw Missing() }
        executable = URL(fileURLWithPath: "\(directory)/chromium")
    }

    /// Loads `page` (an HTML file) with `probe` (a script body that returns an object, run at the
    /// `load` event) in a window of `width` × `height` pixels, and returns what the probe found.
    /// Uncaught errors of the page's own scripts are collected from the first moment into
    /// `probe["errors"]`.
    public func check(page: URL, probe: String, width: Int = 1280, height: Int = 900) throws -> Result {
        var html = try String(contentsOf: page, encoding: .utf8)
        let catcher = "<script>window.loomErrors = []; window.addEventListener('error', function (e) { window.loomErrors.push(String(e.message)); }, true);</script>"
        let reporter = """
            <script>window.addEventListener('load', function () {
              var out; try { out = (function () { \(probe) })(); } catch (e) { out = {probeFailed: String(e)}; }
              out.errors = window.loomErrors;
              var pre = document.createElement('pre'); pre.id = 'loom-probe'; pre.textContent = JSON.stringify(out);
              document.body.appendChild(pre);
            });</script>
            """
        guard let head = html.range(of: "<head>"), let end = html.range(of: "</body>", options: .backwards) else {
            throw Failure(description: "\(page.path) has no <head> or </body>")
        }
        html.replaceSubrange(end, with: reporter + "\n</body>")
        html.insert(contentsOf: "\n" + catcher, at: head.upperBound)
        // Beside the page, so its relative links (the SVGs) resolve.
        let probed = page.deletingLastPathComponent().appendingPathComponent("browser-probe.html")
        try Data(html.utf8).write(to: probed)
        defer { try? FileManager.default.removeItem(at: probed) }

        let outcome = try LoomProcess.run(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                           "--no-first-run", "--enable-logging=stderr", "--v=0", "--dump-dom",
                                           "--virtual-time-budget=3000", "--window-size=\(width),\(height)", probed.absoluteString],
                                          deadline: .seconds(30), program: executable)
        guard let start = outcome.standardOutput.range(of: "<pre id=\"loom-probe\">"),
              let stop = outcome.standardOutput.range(of: "</pre>", range: start.upperBound..<outcome.standardOutput.endIndex) else {
            throw Failure(description: "chromium printed no probe result (status \(outcome.status)): \(outcome.standardError.suffix(2000))")
        }
        // textContent is serialised with &, < and > as entities.
        let json = String(outcome.standardOutput[start.upperBound..<stop.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        guard let probe = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw Failure(description: "the probe's result is not a JSON object: \(json)")
        }
        let console = outcome.standardError.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init)
        return Result(probe: probe, console: console)
    }

    public struct Failure: Error, CustomStringConvertible { public var description: String }
}
