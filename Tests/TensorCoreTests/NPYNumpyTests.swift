import Foundation
import Testing
import TensorCore

/// `python3` run as a child process with a deadline; stdout and stderr go to files so that a
/// chatty child cannot fill a pipe and stall.
enum Python {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// How long one script may run: numpy's import takes well under a second.
    static let deadline: TimeInterval = 60

    /// Whether `python3` can import numpy here, asked once.
    static let hasNumpy: Bool = (try? run("import numpy")) != nil

    /// Runs `python3 -c script arguments…` and returns its stdout.
    /// - Throws: `Failure` with the exit status and stderr when it fails or overruns the deadline.
    @discardableResult
    static func run(_ script: String, arguments: [String] = []) throws -> String {
        try TestInputs.withTemporaryDirectory { directory in
            let outputURL = URL(fileURLWithPath: directory + "/stdout")
            let errorURL = URL(fileURLWithPath: directory + "/stderr")
            try Data().write(to: outputURL)
            try Data().write(to: errorURL)
            let output = try FileHandle(forWritingTo: outputURL)
            let errors = try FileHandle(forWritingTo: errorURL)
            defer { try? output.close(); try? errors.close() }

            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script] + arguments
            process.standardOutput = output
            process.standardError = errors
            let finished = DispatchSemaphore(value: 0)
            process.terminationHandler = { _ in finished.signal() }
            try process.run()
            if finished.wait(timeout: .now() + deadline) == .timedOut {
                process.terminate()
                finished.wait()
                throw Failure(description: "python3 did not finish within \(deadline) s and was terminated")
            }
            let standardOutput = String(decoding: try Data(contentsOf: outputURL), as: UTF8.self)
            guard process.terminationStatus == 0 else {
                let standardError = String(decoding: try Data(contentsOf: errorURL), as: UTF8.self)
                throw Failure(description: "python3 exited with \(process.terminationStatus):\n\(standardError)")
            }
            return standardOutput
        }
    }
}

/// Files Loom writes for numpy: name, shape, element type.
private let loomFiles: [(name: String, shape: [Int], dataType: NPYDataType)] = [
    ("matrix32", [3, 5], .float32),
    ("cube64", [2, 3, 4], .float64),
    ("scalar32", [], .float32),
    ("vector32", [7], .float32),
    ("empty32", [0, 3], .float32),
    ("unpadded32", [Int](repeating: 1, count: 20) + [10], .float32),   // header needs no padding space
]

/// Reads every Loom file with numpy and reports it as JSON, then writes numpy's own files.
/// Values travel as `float.hex` strings: exact, whatever the JSON parser's decimal rounding.
private let numpyScript = """
import json, sys
import numpy as np
directory, names = sys.argv[1], sys.argv[2:]
report = {}
for name in names:
    path = f"{directory}/{name}.npy"
    a = np.load(path)
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        f.seek(0)
        header_length = int.from_bytes(f.read(10)[8:10], "little")
    report[name] = {"shape": list(a.shape), "dtype": a.dtype.str, "c_contiguous": bool(a.flags.c_contiguous),
                    "version": list(version), "data_offset": 10 + header_length,
                    "values": [float.hex(v) for v in a.astype(np.float64).ravel().tolist()]}
rng = np.random.default_rng(7)
x = rng.standard_normal((4, 6))
np.save(f"{directory}/numpy64.npy", x)
np.save(f"{directory}/numpy32.npy", x.astype(np.float32))
np.save(f"{directory}/numpy_scalar.npy", np.float32(-2.75))
np.save(f"{directory}/numpy_fortran.npy", np.asfortranarray(x))
np.save(f"{directory}/numpy_int32.npy", np.arange(6, dtype="<i4"))
report["numpy64"] = [float.hex(v) for v in x.ravel().tolist()]
print(json.dumps(report))
"""

@Suite struct NPYNumpyTests {
    @Test(.enabled(if: Python.hasNumpy, "python3 cannot import numpy"))
    func loomAndNumpyReadEachOthersFiles() throws {
        try TestInputs.withTemporaryDirectory { directory in
            // Loom → numpy.
            var written: [String: Tensor] = [:]
            for (i, file) in loomFiles.enumerated() {
                let tensor = try TestInputs.normal(shape: file.shape, seed: 100 + UInt64(i)).tensor
                try tensor.writeNPY(toFile: "\(directory)/\(file.name).npy", as: file.dataType)
                written[file.name] = tensor
            }
            let output = try Python.run(numpyScript, arguments: [directory] + loomFiles.map(\.name))
            let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any],
                                      "numpy's report: \(output)")
            for file in loomFiles {
                let entry = try #require(report[file.name] as? [String: Any], "no report for \(file.name)")
                #expect(entry["shape"] as? [Int] == file.shape, "\(file.name): \(entry)")
                #expect(entry["dtype"] as? String == file.dataType.rawValue, "\(file.name)")
                #expect(entry["c_contiguous"] as? Bool == true, "\(file.name)")
                #expect(entry["version"] as? [Int] == [1, 0], "\(file.name)")
                #expect((entry["data_offset"] as? Int).map { $0 % 64 == 0 } == true, "\(file.name): \(entry)")
                let hexValues = try #require(entry["values"] as? [String], "\(file.name)")
                let values = hexValues.compactMap { Double($0) }
                #expect(values.count == hexValues.count, "float.hex strings Swift could not parse: \(hexValues)")
                #expect(values == written[file.name]!.storage.map { Double($0) }, "\(file.name)")
            }

            // numpy → Loom.
            let expected = try #require(report["numpy64"] as? [String]).compactMap { Double($0) }
            #expect(expected.count == 24, "float.hex strings Swift could not parse: \(report["numpy64"] ?? "")")
            let array64 = try NPYArray(contentsOfFile: directory + "/numpy64.npy")
            #expect(array64.shape == [4, 6] && array64.dataType == .float64)
            #expect(array64.values == expected, "float64 values must arrive bit for bit")
            let tensor32 = try Tensor(contentsOfNPYFile: directory + "/numpy32.npy")
            #expect(tensor32.shape == [4, 6])
            #expect(tensor32.storage == expected.map { Float($0) })
            let scalar = try Tensor(contentsOfNPYFile: directory + "/numpy_scalar.npy")
            #expect(scalar.shape == [] && scalar.storage == [-2.75])

            let fortran = #expect(throws: TensorError.self) {
                try Tensor(contentsOfNPYFile: directory + "/numpy_fortran.npy")
            }
            #expect(fortran?.description.contains("fortran_order is True") == true, "\(String(describing: fortran))")
            let integers = #expect(throws: TensorError.self) {
                try NPYArray(contentsOfFile: directory + "/numpy_int32.npy")
            }
            #expect(integers?.description.contains("unsupported dtype '<i4'") == true,
                    "\(String(describing: integers))")
        }
    }
}
