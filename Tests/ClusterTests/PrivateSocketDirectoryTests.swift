@testable import Cluster
import ClusterTestSupport
import Foundation
import ProcessTestSupport
import Testing

/// The owner-only directory of the embedded coordinator's ipc socket and its gangs' peer sockets.
@Suite(.serialized) struct PrivateSocketDirectoryTests {
    static func mode(_ path: String) throws -> Int {
        try #require((FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue)
    }

    @Test func aNewDirectoryIsOursAndClosedToOthersAndGoesOnRemove() throws {
        let directory = try PrivateSocketDirectory()
        #expect(try Self.mode(directory.path) == 0o700)
        #expect(try (FileManager.default.attributesOfItem(atPath: directory.path)[.ownerAccountID] as? NSNumber)?.uint32Value == geteuid())
        let endpoint = directory.endpoint(named: "coordinator")
        #expect(endpoint.hasPrefix("ipc:///") && endpoint.utf8.count - "ipc://".count <= PrivateSocketDirectory.socketPathLimit)
        let parent = URL(fileURLWithPath: directory.path).deletingLastPathComponent().path
        try PrivateSocketDirectory.checkPrivate(parent)
        directory.remove()
        #expect(!FileManager.default.fileExists(atPath: directory.path))
    }

    @Test func aDirectoryOpenToOthersOwnedByAnotherUserOrALinkIsRefused() throws {
        let scratch = try TemporaryDirectory()
        let open = scratch.path("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        #expect { try PrivateSocketDirectory.checkPrivate(open) } throws: { "\($0)".contains("chmod 700 \(open)") }
        let link = scratch.path("link")
        let mine = scratch.path("mine")
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try PrivateSocketDirectory.checkPrivate(mine)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: mine)
        #expect { try PrivateSocketDirectory.checkPrivate(link) } throws: { "\($0)".contains("not a directory") }
        if geteuid() == 0 {
            #expect(chown(mine, 65534, 65534) == 0)
            #expect { try PrivateSocketDirectory.checkPrivate(mine) } throws: { "\($0)".contains("belongs to uid 65534") }
        } else {
            print("not root: the check of a directory owned by another user is skipped")
        }
    }

    /// With the coordinator on ipc, each rank's peer socket sits in the same private directory,
    /// not on a loopback TCP port that any local user could connect to.
    @Test func gangPeerSocketsGoInThePrivateDirectory() throws {
        let cluster = try TestCluster(workers: 2, bindsPrivately: true)
        let directory = try #require(cluster.local.socketDirectory?.path)
        #expect(cluster.coordinator.endpoint == "ipc://\(directory)/coordinator")
        let ids = try cluster.coordinator.submit(kind: "gang.barrier", params: ["rounds": .int(20), "pause": .double(0.1)], gang: 2)
        var peers: [String] = []
        let end = ContinuousClock.now + .seconds(30)
        while peers.count < 2 && ContinuousClock.now < end {
            peers = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("g") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(peers.count == 2, "both ranks bind ipc in \(directory): \(peers)\n\(cluster.logText)")
        let result = try #require(cluster.coordinator.waitForResults(ids, timeout: .seconds(60))?.first, "\(cluster.logText)")
        #expect(result.succeeded, "\(result)\n\(cluster.logText)")
        cluster.local.stop()
        #expect(!FileManager.default.fileExists(atPath: directory), "the directory goes when the cluster stops")
    }
}

/// Directories that killed coordinators left behind are removed by the next one; live ones stay.
@Suite(.serialized) struct PrivateSocketSweepTests {
    /// A Unix stream socket bound at `path`; listening when `listens`, else closed at once so only
    /// its file remains (what a `kill -9` leaves).
    static func bind(_ path: String, listens: Bool) -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        precondition(bound == 0, "bind \(path): \(String(cString: strerror(errno)))")
        if listens { precondition(listen(descriptor, 4) == 0) } else { close(descriptor) }
        return descriptor
    }

    @Test func aDeadCoordinatorsDirectoryGoesAndALiveOneStays() throws {
        let live = try PrivateSocketDirectory()
        let listening = Self.bind(live.path + "/coordinator", listens: true)
        defer { close(listening) }
        let starting = try PrivateSocketDirectory()             // no socket yet: a coordinator about to bind
        let stale = try PrivateSocketDirectory()
        _ = Self.bind(stale.path + "/coordinator", listens: false)
        #expect(PrivateSocketDirectory.isDeadSocket(stale.path + "/coordinator"))
        #expect(!PrivateSocketDirectory.isDeadSocket(live.path + "/coordinator"))
        let fresh = try PrivateSocketDirectory()                // sweeps its parent first
        #expect(!FileManager.default.fileExists(atPath: stale.path), "the dead coordinator's directory is removed")
        #expect(FileManager.default.fileExists(atPath: live.path + "/coordinator"), "a live coordinator keeps its socket")
        #expect(FileManager.default.fileExists(atPath: starting.path), "a directory without a socket is left alone")
        withExtendedLifetime(fresh) {}
    }
}
