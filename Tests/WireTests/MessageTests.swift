import Foundation
import Testing
import TensorCore
@testable import Wire

/// The message codec against well-formed and hostile input.
@Suite struct MessageTests {
    @Test func messageRoundTrips() throws {
        var writer = ByteWriter()
        writer.write("worker-1")
        writer.write(42)
        writer.write(2.5)
        writer.write(true)
        let message = Message("register", header: writer.data, payload: [Data([1, 2, 3])])
        let decoded = try Message(frames: message.frames[...])
        #expect(decoded.command == "register")
        #expect(decoded.payload == [Data([1, 2, 3])])
        var reader = ByteReader(decoded.header)
        #expect(try reader.readString() == "worker-1")
        #expect(try reader.readInt() == 42)
        #expect(try reader.readDouble() == 2.5)
        #expect(try reader.readBool() == true)
        try reader.finish("register")
    }

    @Test(arguments: [
        ([] as [Data], "0 frame"),
        ([Data("LOOM1".utf8), Data("x".utf8)], "2 frame"),
        ([Data("LOOM2".utf8), Data("x".utf8), Data()], "not LOOM1"),
        ([Data("LOOM1".utf8), Data(), Data()], "printable"),
        ([Data("LOOM1".utf8), Data([0x00, 0x41]), Data()], "printable"),
        ([Data("LOOM1".utf8), Data(repeating: 0x41, count: 33), Data()], "printable"),
    ])
    func malformedFramesAreNamed(frames: [Data], expected: String) {
        #expect {
            _ = try Message(frames: frames[...])
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test func truncatedHeaderThrowsInsteadOfReadingPastTheEnd() throws {
        var writer = ByteWriter()
        writer.write("a long enough string")
        for cut in 0..<writer.data.count {
            var reader = ByteReader(writer.data.prefix(cut))
            #expect(throws: WireError.self) { _ = try reader.readString() }
        }
    }

    @Test func hostileLengthsAndCountsAreRefused() throws {
        var writer = ByteWriter()
        writer.write(UInt32.max)
        var reader = ByteReader(writer.data)
        #expect(throws: WireError.self) { _ = try reader.readString() }
        reader = ByteReader(writer.data)
        #expect(throws: WireError.self) { _ = try reader.readCount("items", minimumItemBytes: 8) }
        var flag = ByteReader(Data([7]))
        #expect(throws: WireError.self) { _ = try flag.readBool() }
        var bad = ByteWriter()
        bad.write(UInt32(2))
        var invalid = ByteReader(bad.data + Data([0xff, 0xfe]))
        #expect(throws: WireError.self) { _ = try invalid.readString() }
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        var random = SeededRandom(seed: 11)
        for _ in 0..<5000 {
            var frames: [Data] = []
            for _ in 0..<Int(random.next() % 6) {
                var bytes: [UInt8] = []
                for _ in 0..<Int(random.next() % 24) { bytes.append(UInt8(truncatingIfNeeded: random.next())) }
                frames.append(Data(bytes))
            }
            if let message = try? Message(frames: frames[...]) {
                var reader = ByteReader(message.header)
                _ = try? reader.readString()
                _ = try? reader.readCount("n", minimumItemBytes: 4)
                _ = try? reader.readDouble()
            }
        }
    }

    @Test func tensorFrameSizeMustMatchItsShape() throws {
        let tensor = try Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        #expect(try Tensor(shape: [3, 2], frame: tensor.frame).storage == tensor.storage)
        #expect(throws: WireError.self) { _ = try Tensor(shape: [2, 2], frame: tensor.frame) }
        #expect(throws: WireError.self) { _ = try Tensor(shape: [-1, -6], frame: tensor.frame) }
        #expect(throws: WireError.self) { _ = try Tensor(shape: [Int.max, 3], frame: tensor.frame) }
    }

    @Test func curveKeysGenerateAndParse() throws {
        try #require(Context.hasCurve)
        let pair = try CurveKeyPair.generate()
        #expect(pair.publicKey.text.count == 40 && pair.publicKey != pair.secretKey)
        #expect(try CurveKey(text: pair.publicKey.text + "\n") == pair.publicKey)
        #expect(throws: WireError.self) { _ = try CurveKey(text: "short") }
    }
}
