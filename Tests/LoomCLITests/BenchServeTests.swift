import Foundation
import ProcessTestSupport
import Testing

/// `loom bench serve` with its two real workers, and its refusals.
@Suite struct BenchServeTests {
    @Test func timesServingInProcessAndOnTwoWorkers() throws {
        let table = try LoomProcess.run(["bench", "serve", "--queries", "6", "--batch", "4", "--repeat", "1"])
        #expect(table.status == 0, "\(table)")
        let out = table.standardOutput
        #expect(out.contains("6 queries in batches of 4, median of 1"), "\(table)")
        for name in ["in process, 1 thread", "2 worker processes"] {
            let fields = out.split(separator: "\n").first { $0.hasPrefix(name + " ") }?.dropFirst(name.count).split(separator: " ") ?? []
            #expect(fields.count == 4 && fields.allSatisfy { (Double($0) ?? -1) > 0 }, "\(name): \(table)")
        }
        #expect(out.contains("completions identical: yes"), "\(table)")
    }

    @Test func refusesBadSettings() throws {
        let none = try LoomProcess.run(["bench", "serve", "--queries", "0"])
        #expect(none.status == 2 && none.standardError.contains("--queries"), "\(none)")
        let many = try LoomProcess.run(["bench", "serve", "--batch", "5000"])
        #expect(many.status == 2 && many.standardError.contains("--batch must be at most 4096"), "\(many)")
    }
}
