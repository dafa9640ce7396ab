import Foundation

/// Runs `loom` as a second local user (uid and gid 65534, "nobody") through util-linux's
/// `setpriv`, to check what another user of the machine can reach. Needs root, as the machines
/// and CI here run; elsewhere `unavailableReason` says why the tests cannot run.
public final class OtherUser {
    /// The uid and gid the commands run as.
    public static let id = 65534

    /// Why commands cannot run as another user here, or nil when they can.
    public static let unavailableReason: String? = {
        let reason: String? = if getuid() != 0 {
            "running as uid \(getuid()), not root: cannot switch to uid \(id)"
        } else if setpriv == nil {
            "no setpriv (util-linux) in /usr/bin or /bin: cannot switch to uid \(id)"
        } else {
            nil
        }
        if let reason { print("skipping the tests that act as another local user: \(reason)") }
        return reason
    }()

    static var setpriv: URL? {
        ["/usr/bin/setpriv", "/bin/setpriv"].first(where: FileManager.default.isExecutableFile(atPath:)).map(URL.init(fileURLWithPath:))
    }

    /// A directory of mode 0755 holding a copy of `loom`: the build tree may sit under a
    /// directory that uid 65534 cannot enter.
    public let directory: TemporaryDirectory
    /// The copy of `loom` that uid 65534 runs.
    public let loom: String

    /// Copies `loom` and checks that uid 65534 can run it (its Swift runtime libraries included).
    /// - Throws: `LoomProcess.LaunchError` naming what uid 65534 cannot do, with its output.
    public init() throws {
        guard OtherUser.unavailableReason == nil, let setpriv = OtherUser.setpriv else {
            throw LoomProcess.LaunchError(description: "OtherUser: \(OtherUser.unavailableReason ?? "no setpriv")")
        }
        directory = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.url.path)
        loom = directory.path("loom")
        try FileManager.default.copyItem(atPath: try LoomProcess.executable().path, toPath: loom)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: loom)
        self.setpriv = setpriv
        let version = try run(["version"], deadline: .seconds(30))
        guard version.status == 0 else {
            throw LoomProcess.LaunchError(description: "uid \(OtherUser.id) cannot run \(loom); are its shared libraries "
                                   + "(/opt/swift/usr/lib/swift/linux) readable by others?\n\(version)")
        }
    }

    private let setpriv: URL

    /// The `setpriv` arguments that run `program arguments…` as uid and gid 65534 with no groups.
    func command(_ program: String, _ arguments: [String]) -> [String] {
        ["--reuid=\(OtherUser.id)", "--regid=\(OtherUser.id)", "--clear-groups", "--", program] + arguments
    }

    /// A small environment: no secrets or key directories of the test's user reach the child.
    var environment: [String: String] { ["PATH": "/usr/bin:/bin", "HOME": directory.url.path] }

    /// Runs `loom arguments…` (or `program arguments…`) as uid 65534 and waits at most `deadline`.
    public func run(_ arguments: [String], program: String? = nil, deadline: Duration = .seconds(60)) throws -> LoomProcess.Outcome {
        try LoomProcess.run(command(program ?? loom, arguments), in: directory.url, deadline: deadline, program: setpriv,
                            environment: environment)
    }

    /// Starts `loom arguments…` as uid 65534 in the background, its output discarded; the caller
    /// stops it (`setpriv` execs `loom`, so the pid is loom's).
    public func start(_ arguments: [String]) throws -> Process {
        let process = Process()
        process.executableURL = setpriv
        process.arguments = command(loom, arguments)
        process.environment = environment
        process.currentDirectoryURL = directory.url
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }
}
