import Foundation
import SequenceParallel

// Reading is input checking: every field's type and range, with the limits of the flags, and each
// list's length before it is allocated. A failure is a DecodingError whose path names the field.

private struct FieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where K == FieldKey {
    fileprivate func int(_ name: String, _ range: ClosedRange<Int>) throws -> Int {
        let value = try decode(Int.self, forKey: FieldKey(name))
        guard range.contains(value) else { throw outside(name, "\(value) is outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    fileprivate func number(_ name: String, _ range: ClosedRange<Double>) throws -> Double {
        let value = try decode(Double.self, forKey: FieldKey(name))
        guard value.isFinite, range.contains(value) else { throw outside(name, "\(value) is outside \(range.lowerBound)…\(range.upperBound)") }
        return value
    }

    fileprivate func text(_ name: String) throws -> String {
        let value = try decode(String.self, forKey: FieldKey(name))
        guard value.count <= SimValidateRecord.maximumText else { throw outside(name, "longer than \(SimValidateRecord.maximumText) characters") }
        return value
    }

    /// A list of at most `limit` items, each read by `item` from its own container.
    fileprivate func list<T>(_ name: String, atMost limit: Int, _ item: (inout UnkeyedDecodingContainer) throws -> T) throws -> [T] {
        var items = try nestedUnkeyedContainer(forKey: FieldKey(name))
        guard let count = items.count, count <= limit else { throw outside(name, "more than \(limit) items") }
        var result: [T] = []
        result.reserveCapacity(count)
        while !items.isAtEnd { result.append(try item(&items)) }
        return result
    }

    fileprivate func outside(_ name: String, _ text: String) -> DecodingError {
        DecodingError.dataCorruptedError(forKey: FieldKey(name), in: self, debugDescription: text)
    }
}

extension SimValidateRecord: Decodable {
    init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: FieldKey.self)
        if let format = try fields.decodeIfPresent(String.self, forKey: FieldKey("format")), format != "loom-sim-validate" {
            throw fields.outside("format", "'\(format)' is not a file 'loom sim validate --save' wrote (loom-sim-validate)")
        }
        let version = try fields.decode(Int.self, forKey: FieldKey("version"))
        guard version == Self.version else {
            throw fields.outside("version", "version \(version); this loom reads version \(Self.version) (write it again with 'loom sim validate --save')")
        }
        calibration = try Calibration(fields.nestedContainer(keyedBy: FieldKey.self, forKey: FieldKey("calibration")))
        let heads = calibration.heads
        cases = try fields.list("cases", atMost: Self.maximumCases) { items in try Case(items.nestedContainer(keyedBy: FieldKey.self), heads: heads) }
    }
}

extension SimValidateRecord.Calibration {
    fileprivate init(_ fields: KeyedDecodingContainer<FieldKey>) throws {
        host = try fields.text("host"); cpuModel = try fields.text("cpu"); commit = try fields.text("commit")
        build = try fields.text("build"); date = try fields.text("date")
        cores = try fields.int("cores", 1...4096)
        latency = try fields.number("latency_s", 0...1)
        bandwidthGBps = try fields.number("bandwidth_gbps", 1e-6...1e6)
        copyGBps = try fields.decodeIfPresent(Double.self, forKey: FieldKey("copy_gbps")) == nil ? nil : try fields.number("copy_gbps", 1e-6...1e6)
        heads = try fields.int("heads", 1...256)
        headDimension = try fields.int("head_dim", 1...1024)
        let heads = heads
        rates = try fields.list("rates", atMost: SimValidateRecord.maximumCases) { items in
            try SimValidateRecord.Rate(items.nestedContainer(keyedBy: FieldKey.self), heads: heads)
        }
    }
}

extension SimValidateRecord.Rate {
    fileprivate init(_ rate: KeyedDecodingContainer<FieldKey>, heads: Int) throws {
        self.init(tokens: try rate.int("tokens", 1...65_536), heads: try rate.int("heads", 1...heads),
                  keyHeads: try rate.int("kv_heads", 1...heads), full: try rate.number("full_flops_per_s", 1...1e15),
                  causal: try rate.number("causal_flops_per_s", 1...1e15))
        // Optional: files saved before the shared-core measurement have none.
        if rate.contains(FieldKey("sharing")) {
            for (ranks, efficiency) in try rate.list("sharing", atMost: 16, { items in
                let entry = try items.nestedContainer(keyedBy: FieldKey.self)
                return (try entry.int("ranks", 2...8), try entry.number("efficiency", 0.01...1))
            }) { sharing[ranks] = efficiency }
        }
        let mergeKey = FieldKey("merge_bytes_per_s")
        if rate.contains(mergeKey), try !rate.decodeNil(forKey: mergeKey) { merge = try rate.number("merge_bytes_per_s", 1...1e14) }
    }
}

extension SimValidateRecord.Case {
    /// The same limits as `loom sim validate`'s flags: 2…8 workers, 64…65536 tokens, K/V heads
    /// dividing the heads, a usp degree dividing the workers and both head counts.
    fileprivate init(_ fields: KeyedDecodingContainer<FieldKey>, heads: Int) throws {
        let name = try fields.text("algorithm")
        guard let algorithm = SequenceParallelKinds.Algorithm(rawValue: name) else {
            throw fields.outside("algorithm", "'\(name)' is not one of \(SequenceParallelKinds.Algorithm.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.algorithm = algorithm
        workers = try fields.int("workers", 2...8)
        tokens = try fields.int("tokens", 64...65_536)
        isCausal = try fields.decode(Bool.self, forKey: FieldKey("causal"))
        keyHeads = try fields.int("kv_heads", 1...heads)
        guard heads % keyHeads == 0 else { throw fields.outside("kv_heads", "\(keyHeads) does not divide the \(heads) heads") }
        linkGbps = try fields.decodeIfPresent(Double.self, forKey: FieldKey("link_gbps")) == nil ? nil : try fields.number("link_gbps", 1e-6...1e6)
        ulyssesDegree = try fields.decodeIfPresent(Int.self, forKey: FieldKey("ulysses_degree")) == nil ? nil : try fields.int("ulysses_degree", 1...8)
        if algorithm == .usp {
            guard let u = ulyssesDegree else { throw fields.outside("ulysses_degree", "usp needs its degree") }
            guard workers % u == 0, heads % u == 0, keyHeads % u == 0 else {
                throw fields.outside("ulysses_degree", "\(u) must divide the workers (\(workers)), heads (\(heads)) and kv_heads (\(keyHeads))")
            }
        }
        pinned = try fields.decodeIfPresent(Bool.self, forKey: FieldKey("pinned")) ?? false
        if fields.contains(FieldKey("rate")), try !fields.decodeNil(forKey: FieldKey("rate")) {
            rate = try SimValidateRecord.Rate(fields.nestedContainer(keyedBy: FieldKey.self, forKey: FieldKey("rate")), heads: heads)
        }
        wallSeconds = try fields.number("measured_s", 1e-9...1e6)
        rankZeroSteps = try fields.list("rank0_steps_s", atMost: SimValidateRecord.maximumSteps) { items in
            let value = try items.decode(Double.self)
            guard value.isFinite, value >= 0, value <= 1e6 else {
                throw DecodingError.dataCorruptedError(in: items, debugDescription: "\(value) is outside 0…1e6 seconds")
            }
            return value
        }
        let workers = workers
        rankSteps = try fields.list("ranks", atMost: workers) { ranks in
            var steps = try ranks.nestedUnkeyedContainer()
            guard let count = steps.count, count <= SimValidateRecord.maximumSteps else {
                throw DecodingError.dataCorruptedError(in: ranks, debugDescription: "more than \(SimValidateRecord.maximumSteps) steps")
            }
            var result: [SimValidateRecord.Step] = []
            result.reserveCapacity(count)
            while !steps.isAtEnd {
                let step = try steps.nestedContainer(keyedBy: FieldKey.self)
                result.append(SimValidateRecord.Step(start: try step.number("start_s", -1e12...1e12), send: try step.number("send_s", 0...1e6),
                                                     compute: try step.number("compute_s", 0...1e6), wait: try step.number("wait_s", 0...1e6)))
            }
            return result
        }
    }
}
