import Cluster
import Foundation
import Wire
import Tasks

/// Options and helpers shared by the cluster commands (coordinator, worker, up, status, submit).
enum ClusterOptions {
    static let heartbeat = Option.value("heartbeat-ms", "MS", "heartbeat interval in milliseconds (default 1000)")
    static let liveness = Option.value("liveness", "N", "missed heartbeats before a peer is dead (default 3)")
    static let testKinds = Option.flag("test-kinds", "also register the kinds that exist to test Loom's runtime (append, artifact, crash, fail: "
                                       + "they write files and kill workers); for tests, never on a shared machine")
    static let insecureLoopback = Option.flag("insecure-loopback", "allow a plain TCP bind on loopback without CURVE, "
                                              + "which every user of this machine can connect to and run tasks as you")

    /// The liveness rule from `--heartbeat-ms` and `--liveness`.
    static func liveness(_ arguments: Arguments) throws(CommandError) -> Liveness {
        // The wire's bounds on a welcome (an hour, 1000 misses): past them workers drop it, and
        // their product once overflowed the deadline and stopped the process.
        let interval = try arguments.int("heartbeat-ms", minimum: 10, maximum: 3_600_000) ?? 1000
        let misses = try arguments.int("liveness", minimum: 1, maximum: 1000) ?? 3
        return Liveness(interval: .milliseconds(Int64(interval)), misses: misses)
    }

    /// Whether `endpoint` stays on this machine (loopback TCP, ipc or inproc).
    static func isLoopback(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard endpoint.hasPrefix("tcp://") else { return false }
        let address = endpoint.dropFirst(6)
        if address.hasPrefix("[") { return address.hasPrefix("[::1]") }
        let host = address.split(separator: ":", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        // An IPv4 literal in 127.0.0.0/8, not any name that starts with "127." (a DNS name can).
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        let isLoopbackAddress = octets.count == 4 && octets.allSatisfy { UInt8($0) != nil } && octets[0] == "127"
        return isLoopbackAddress || host == "localhost"
    }

    /// Checks an endpoint's shape before libzmq sees it, with an example of a good one.
    static func checkEndpoint(_ endpoint: String, option: String) throws(CommandError) {
        let schemes = ["tcp://", "ipc://", "inproc://"]
        guard schemes.contains(where: endpoint.hasPrefix), endpoint.count > 7 else {
            throw .usage("--\(option) '\(endpoint)' is not a ZeroMQ endpoint; write e.g. tcp://127.0.0.1:5555 or tcp://*:5555")
        }
    }

    /// `key=value` words as parameters (typed later against the kind's declaration).
    static func parameters(_ words: [String]) throws(CommandError) -> [String: ParameterValue] {
        var params: [String: ParameterValue] = [:]
        for word in words {
            guard let equals = word.firstIndex(of: "="), equals != word.startIndex else {
                throw .usage("--param expects key=value, got '\(word)'")
            }
            let key = String(word[..<equals])
            guard params[key] == nil else { throw .usage("--param \(key) given twice; give it once") }
            params[key] = .string(String(word[word.index(after: equals)...]))
        }
        return params
    }

    /// This process's executable, for spawning workers.
    static var executable: URL {
        URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    }
}

/// CURVE set-up from the command line: on for non-loopback endpoints, or with `--curve`.
enum CurveOptions {
    static let options: [Option] = [
        .flag("curve", "encrypt and authenticate with CURVE even on loopback (always on otherwise)"),
        .value("keys", "DIR", "the key directory (default ~/.loom/keys)"),
        .value("key", "NAME", "the key pair to use (default: coordinator for a coordinator; this host's name, else coordinator, for others)"),
    ]

    /// Refuses a plain TCP bind on loopback: every local user could connect to it, submit tasks
    /// that run with this user's rights, or register as a worker and report invented results.
    static func checkLoopbackBind(_ arguments: Arguments, endpoint: String) throws(CommandError) {
        guard endpoint.hasPrefix("tcp://"), ClusterOptions.isLoopback(endpoint), !arguments.flag("curve"),
              !arguments.flag("insecure-loopback") else { return }
        throw .usage("--bind \(endpoint) without CURVE lets every user of this machine connect, run tasks as you and "
                     + "pose as a worker; add --curve (keys from 'loom keys generate --name coordinator'), "
                     + "leave out --bind for 'loom up' (a private ipc:// socket only you can reach), "
                     + "or add --insecure-loopback if every local user is trusted")
    }

    static func isOn(_ arguments: Arguments, endpoint: String) -> Bool {
        arguments.flag("curve") || !ClusterOptions.isLoopback(endpoint)
    }

    static func store(_ arguments: Arguments) -> KeyStore {
        arguments.string("keys").map { KeyStore(directory: $0) } ?? KeyStore()
    }

    /// The coordinator's keys and allow-list (its own public key is always admitted, so local
    /// workers and commands on the head node can use its pair). A plain loopback TCP bind is
    /// refused unless `--insecure-loopback` acknowledges it.
    static func server(_ arguments: Arguments, endpoint: String) throws(CommandError) -> CurveServerSecurity? {
        try checkLoopbackBind(arguments, endpoint: endpoint)
        guard isOn(arguments, endpoint: endpoint) else { return nil }
        let store = store(arguments)
        let name = arguments.string("key") ?? "coordinator"
        do {
            let keys = try store.loadPair(named: name)
            let listed = FileManager.default.fileExists(atPath: store.allowListPath) ? try store.loadAllowList() : AllowList([])
            let allowList = AllowList(listed.entries + [AllowList.Entry(key: keys.publicKey, name: name)], path: listed.path)
            return CurveServerSecurity(keys: keys, allowList: allowList)
        } catch {
            throw .usage("CURVE is on for \(endpoint) (\(arguments.flag("curve") ? "--curve" : "not loopback")) but its keys are not usable: \(error.detail)")
        }
    }

    /// `--server-key`: the coordinator's public key given on the command line ('loom cluster up'
    /// starts workers this way, so no file has to be copied to the hosts first).
    static let serverKey = Option.value("server-key", "KEY", "the coordinator's public key (40 characters of Z85) instead of coordinator.pub in the key directory")

    /// A worker's or client's keys and the coordinator's public key (`--server-key`, else `coordinator.pub`).
    static func client(_ arguments: Arguments, endpoint: String) throws(CommandError) -> CurveClientSecurity? {
        guard isOn(arguments, endpoint: endpoint) else { return nil }
        let store = store(arguments)
        let name = arguments.string("key")
            ?? (store.containsPair(named: KeysCommand.defaultName) ? KeysCommand.defaultName : "coordinator")
        var serverKey: CurveKey?
        if let text = arguments.string("server-key") {
            do throws(WireError) { serverKey = try CurveKey(text: text) } catch {
                throw .usage("--server-key is not a CURVE public key: \(error.detail)")
            }
        }
        do throws(WireError) {
            let server: CurveKey
            if let serverKey { server = serverKey } else { server = try store.loadPublicKey(named: "coordinator") }
            return CurveClientSecurity(keys: try store.loadPair(named: name), serverPublicKey: server)
        } catch {
            throw .usage("CURVE is on for \(endpoint) but the keys are not usable: \(error.detail) "
                         + "(a client needs its own pair and the coordinator's public key as coordinator.pub in \(store.directory))")
        }
    }
}
