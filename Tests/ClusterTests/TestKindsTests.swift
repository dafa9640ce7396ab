import Cluster
import Foundation
import ProcessTestSupport
import Testing
import Wire

/// The kinds that write files and break processes exist only where they are asked for.
@Suite struct TestKindsTests {
    /// The kinds a real `loom worker` registers with, read from its `register` message; nil when
    /// it does not register within 30 s.
    static func registeredKinds(workerArguments: [String]) throws -> [String]? {
        let context = try Context()
        let router = try Socket(context, kind: .router)
        try router.bind("tcp://127.0.0.1:*")
        let worker = try LoomProcess.start(["worker", "--connect", router.lastEndpoint, "--exit-with-parent"] + workerArguments)
        defer { kill(worker.processIdentifier, SIGKILL); worker.waitUntilExit() }
        let end = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < end {
            guard let received = try router.receive(timeout: .milliseconds(100)),
                  let message = try? ClusterMessage(Message(frames: received.frames.dropFirst())),
                  case let .register(info) = message else { continue }
            return info.kinds
        }
        return nil
    }

    @Test func aWorkerRegistersTestKindsOnlyWhenAsked() throws {
        let plain = try #require(try Self.registeredKinds(workerArguments: []), "loom worker did not register")
        #expect(plain.contains("sleep") && plain.contains("echo") && plain.contains("gemm"), "\(plain)")
        #expect(!plain.contains("append") && !plain.contains("crash") && !plain.contains("fail"), "\(plain)")
        let testing = try #require(try Self.registeredKinds(workerArguments: ["--test-kinds"]), "loom worker --test-kinds did not register")
        #expect(["append", "crash", "fail"].allSatisfy(testing.contains), "\(testing)")
    }

    @Test func aCoordinatorWithoutTestKindsRefusesOneWithHowToEnableIt() throws {
        let coordinator = try Coordinator(CoordinatorConfiguration(bind: "tcp://127.0.0.1:*"))
        defer { coordinator.stop() }
        #expect { _ = try coordinator.submit(kind: "append", params: ["path": .string("/tmp/loom-never-written")]) } throws: {
            "\($0)".contains("'append' is a test-only kind") && "\($0)".contains("--test-kinds")
        }
        #expect(TaskRegistry.builtIn.withheldTestKinds == ["append", "artifact", "crash", "fail"])
        #expect(TaskRegistry.builtIn(includingTestKinds: true).withheldTestKinds.isEmpty)
    }
}
