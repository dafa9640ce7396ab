import Foundation
import Launch
import ProcessTestSupport
import Testing

@Suite struct HostfileTests {
    @Test func hostsSlotsAndCommentsAreRead() throws {
        let file = try Hostfile.parse("""
            # the rack
            node01 slots=2
              alice@node02.lab   # the second
            10.0.0.7\tslots=3\r
            fe80::1

            """, defaultSlots: 1)
        #expect(file.hosts.map(\.destination) == ["node01", "alice@node02.lab", "10.0.0.7", "fe80::1"])
        #expect(file.hosts.map(\.slots) == [2, 1, 3, 1] && file.hosts.map(\.line) == [2, 3, 4, 5])
        #expect(file.workers.count == 7 && file.workers[1].host.destination == "node01" && file.workers[1].index == 1)
        #expect(try Hostfile.parse("a\nb", defaultSlots: 4).workers.count == 8)
    }

    /// Each bad line is named by line and column, all of them at once; a name that a remote shell
    /// or ssh could misread is refused.
    @Test func everyProblemIsNamedAtItsPlace() throws {
        let text = """
            good
            -oProxyCommand=touch
            node;rm slots=2
            $(reboot)
            good
            other slots=0
            third slots=two
            a@b@c
            9user@host
            """
        do {
            _ = try Hostfile.parse(text, file: "hosts.txt")
            Issue.record("a bad hostfile was accepted")
        } catch {
            let places = error.problems.map { "\($0.line):\($0.column)" }
            #expect(places == ["2:1", "3:1", "4:1", "5:1", "6:7", "7:7", "8:1", "9:1"], "\(error)")
            #expect(error.description.contains("hosts.txt:2:1: '-oProxyCommand=touch' is not a host: a host name cannot start with '-'"))
            #expect(error.description.contains("listed again (first on line 1)"))
        }
        for (text, phrase) in [("", "lists no host"), ("# only a comment\n\n", "lists no host"),
                               (String(repeating: "h\n", count: 1).replacingOccurrences(of: "h", with: String(repeating: "x", count: 300)), "1 to 253")] {
            #expect(throws: HostfileError.self) { try Hostfile.parse(text) }
            do { _ = try Hostfile.parse(text) } catch { #expect(error.description.contains(phrase), "\(error)") }
        }
        #expect(throws: HostfileError.self) { try Hostfile.parse("a", defaultSlots: 0) }
    }

    /// A host named twice in different case, slots= given twice, and host:port (which ssh would
    /// take as a host name) are each refused at their place; IPv6 addresses still pass.
    @Test func duplicatesInAnyCaseRepeatedSlotsAndPortsAreRefused() throws {
        let text = """
            Node01 slots=2
            node01
            alice@NODE02 slots=1 slots=3
            alice@node02
            bob@node02
            carol@node03:22
            node04:2222
            """
        do {
            _ = try Hostfile.parse(text, file: "hosts.txt")
            Issue.record("a bad hostfile was accepted")
        } catch {
            let places = error.problems.map { "\($0.line):\($0.column)" }
            #expect(places == ["2:1", "3:22", "4:1", "6:1", "7:1"], "\(error)")
            #expect(error.description.contains("hosts.txt:2:1: node01 is listed again (first on line 1)"), "\(error)")
            #expect(error.description.contains("hosts.txt:3:22: slots= is given twice"), "\(error)")
            #expect(error.description.contains("hosts.txt:6:1: 'carol@node03:22' is not a host: host:port is not taken"), "\(error)")
        }
        let fine = try Hostfile.parse("fe80::1\n2001:db8::7 slots=2\nalice@n1\nbob@n1\n")
        #expect(fine.hosts.map(\.destination) == ["fe80::1", "2001:db8::7", "alice@n1", "bob@n1"])
    }

    @Test func sizesAreBoundedBeforeReading() throws {
        let scratch = try TemporaryDirectory()
        let many = (0...Hostfile.maximumHosts).map { "h\($0)" }.joined(separator: "\n")
        #expect(throws: HostfileError.self) { try Hostfile.parse(many) }
        let big = scratch.path("big.txt")
        try String(repeating: "#", count: Hostfile.maximumBytes + 1).write(toFile: big, atomically: true, encoding: .utf8)
        do { _ = try Hostfile.load(big); Issue.record("an oversized file was read") } catch { #expect(error.description.contains("more than")) }
        do { _ = try Hostfile.load(scratch.path("missing.txt")); Issue.record("a missing file was read") } catch {
            #expect(error.description.contains("cannot read the hostfile"))
        }
        let binary = scratch.path("binary")
        try Data([0x6e, 0xff, 0xfe, 0x0a]).write(to: URL(fileURLWithPath: binary))
        do { _ = try Hostfile.load(binary); Issue.record("a binary file was read") } catch { #expect(error.description.contains("not UTF-8")) }
        let fine = scratch.path("hosts.txt")
        try "node01 slots=2\n".write(toFile: fine, atomically: true, encoding: .utf8)
        #expect(try Hostfile.load(fine).workers.count == 2)
    }
}
