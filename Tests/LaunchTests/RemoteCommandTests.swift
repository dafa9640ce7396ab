import Foundation
import Launch
import ProcessTestSupport
import Testing

/// The command line a remote shell receives splits back into exactly the arguments given, however
/// hostile: run here through a real `/bin/sh -c`, as ssh's remote side runs it.
@Suite struct RemoteCommandTests {
    static let hostile = ["plain", "", " spaced  out ", "it's", "'", "''", "\"double\"", "$(touch PWNED)", "`touch PWNED`",
                          "; touch PWNED", "a && touch PWNED", "| touch PWNED", "> PWNED", "*", "~", "$HOME", "\\", "\\'",
                          "line\nbreak", "tab\there", "-oProxyCommand=x", "ünïcödé ✓", "!event", "#comment", "%s"]

    @Test func theRemoteShellSeesExactlyTheArguments() throws {
        let scratch = try TemporaryDirectory()
        // printf writes each argument NUL-terminated, so the split is unambiguous.
        let line = RemoteCommand.quoted(["printf", "%s\\0"] + Self.hostile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", line]
        process.currentDirectoryURL = scratch.url
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var fields = output.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        #expect(fields.removeLast() == "")
        #expect(fields == Self.hostile)
        #expect(!FileManager.default.fileExists(atPath: scratch.path("PWNED")), "a metacharacter ran as shell syntax")
    }

    @Test func theArgumentVectorPutsTheDestinationBeforeOneCommandString() {
        let argv = RemoteCommand.argv(rsh: ["ssh", "-o", "BatchMode=yes"], destination: "alice@node02", command: ["loom", "worker", "--name", "a b"])
        #expect(argv == ["ssh", "-o", "BatchMode=yes", "alice@node02", "'loom' 'worker' '--name' 'a b'"])
        #expect(RemoteCommand.untransmittable(["ok", "bad\u{0}nul"]) == "bad\u{0}nul")
        #expect(RemoteCommand.untransmittable(Self.hostile) == nil)
    }
}
