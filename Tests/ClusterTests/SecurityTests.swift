import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Testing
import Wire

/// CURVE with an allow-list, end to end with real worker processes.
@Suite(.serialized) struct SecurityTests {
    @Test func onlyWorkersOnTheAllowListCanRegister() throws {
        try #require(Context.hasCurve)
        let allowed = try TemporaryDirectory(), refused = try TemporaryDirectory(), server = try TemporaryDirectory()
        let serverKeys = try KeyStore(directory: server.url.path).generate(name: "coordinator")
        let allowedKeys = try KeyStore(directory: allowed.url.path).generate(name: "worker")
        try KeyStore(directory: refused.url.path).generate(name: "worker")
        for directory in [allowed, refused] {           // each worker knows the coordinator's public key
            try KeyStore(directory: directory.url.path).save(
                CurveKeyPair(publicKey: serverKeys.publicKey, secretKey: serverKeys.publicKey), name: "unused")
            try (serverKeys.publicKey.text + "\n").write(toFile: directory.path("coordinator.pub"), atomically: true, encoding: .utf8)
        }
        let security = CurveServerSecurity(keys: serverKeys, allowList: AllowList([.init(key: allowedKeys.publicKey, name: "worker")]))
        let cluster = try TestCluster(workers: 0, security: security)
        let executable = try LoomProcess.executable()
        for (index, directory) in [(0, allowed), (1, refused)] {
            try cluster.local.spawnWorker(index: index, executable: executable,
                                          arguments: ["--curve", "--keys", directory.url.path, "--key", "worker",
                                                      "--heartbeat-ms", "100"])
        }
        try cluster.wait(for: "the allowed worker to register", timeout: .seconds(20)) { $0.workers.count == 1 }
        try cluster.wait(for: "the other worker to be rejected", timeout: .seconds(20)) { ($0.counters["curve_rejected"] ?? 0) >= 1 }
        Thread.sleep(forTimeInterval: 1)
        let status = try cluster.status()
        #expect(status.workers.map(\.name) == ["local-0"], "only the listed worker may register: \(status.json)\n\(cluster.logText)")
        let ids = try cluster.coordinator.submit(kind: "echo", params: ["value": .string("secret")])
        #expect(cluster.coordinator.waitForResults(ids, timeout: .seconds(20))?.first?.worker == "local-0")
    }

    @Test func aGangTalksCURVEBetweenItsRanks() throws {
        try #require(Context.hasCurve)
        let server = try TemporaryDirectory()
        let serverKeys = try KeyStore(directory: server.url.path).generate(name: "coordinator")
        var entries: [AllowList.Entry] = []
        var directories: [TemporaryDirectory] = []
        for _ in 0..<2 {
            let directory = try TemporaryDirectory()
            entries.append(.init(key: try KeyStore(directory: directory.url.path).generate(name: "worker").publicKey, name: nil))
            try (serverKeys.publicKey.text + "\n").write(toFile: directory.path("coordinator.pub"), atomically: true, encoding: .utf8)
            directories.append(directory)
        }
        let cluster = try TestCluster(workers: 0, security: CurveServerSecurity(keys: serverKeys, allowList: AllowList(entries)))
        for (index, directory) in directories.enumerated() {
            try cluster.local.spawnWorker(index: index, executable: try LoomProcess.executable(),
                                          arguments: ["--curve", "--keys", directory.url.path, "--key", "worker", "--heartbeat-ms", "100"])
        }
        try cluster.wait(for: "both workers to register", timeout: .seconds(20)) { $0.workers.count == 2 }
        let ids = try cluster.coordinator.submit(kind: "gang.ringsum", params: ["elements": .int(50_000), "frames": .bool(true)], gang: 2)
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(30))?.first, "\(cluster.logText)")
        #expect(result.succeeded && (result.metrics["max_abs_error"]?.number ?? 1) < 1e-9, "\(result)\n\(cluster.logText)")
    }
}
