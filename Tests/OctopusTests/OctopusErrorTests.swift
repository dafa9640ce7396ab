import Testing
@testable import Octopus

@Suite struct OctopusErrorTests {
    @Test func theMessageIsTheDescription() {
        #expect(OctopusError.graph("g.yaml:3:5: unknown node 'x'").description == "g.yaml:3:5: unknown node 'x'")
        #expect(OctopusError.unparsable("no <nexa_end>") != OctopusError.configuration("no <nexa_end>"))
    }
}
