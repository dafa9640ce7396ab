import Foundation
import TensorCore

/// Reading and writing the `.npy` files `loom attention` works on, with errors that name the option,
/// the file and the fix.
enum TensorFile {
    /// Reads a float32 or float64 `.npy` file and checks that every element is finite.
    /// - Parameter option: the option that named the file (`q`, `dout`, …), for messages.
    /// - Throws: `CommandError.usage` when the file is missing, unreadable, truncated, of another
    ///   dtype, or holds NaN or ±inf (naming the first such element by its multi-index).
    static func readFinite(_ path: String, option: String) throws(CommandError) -> Tensor {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .usage("--\(option) \(path): no such file; check the path (relative paths start at \(FileManager.default.currentDirectoryPath))")
        }
        let tensor: Tensor
        do {
            tensor = try Tensor(contentsOfNPYFile: path)
        } catch {
            throw .usage("--\(option) \(error.description)")
        }
        try checkFinite(tensor, path: path, option: option)
        return tensor
    }

    /// Throws naming the first NaN or infinite element of `tensor` by flat and multi-index.
    /// - Complexity: O(count), stopping at the first bad element.
    static func checkFinite(_ tensor: Tensor, path: String, option: String) throws(CommandError) {
        let bad: Int? = tensor.withUnsafeBufferPointer { buffer in
            buffer.firstIndex { !$0.isFinite }
        }
        guard let bad else { return }
        let value = tensor.storage[bad]
        let index = multiIndex(of: bad, in: tensor.shape)
        throw .usage("--\(option) \(path): element \(Tensor.describe(index)) (flat index \(bad)) is \(value); " +
                     "attention inputs must be finite (float64 values beyond ±3.4e38 also become inf in float32) — " +
                     "fix the data that produced the file")
    }

    /// Writes `tensor` as a little-endian float32 `.npy` file.
    /// - Throws: `CommandError.failure` naming the file when the write fails.
    static func write(_ tensor: Tensor, to path: String, option: String) throws(CommandError) {
        do {
            try tensor.writeNPY(toFile: path)
        } catch {
            throw .failure("--\(option) \(error.description)")
        }
    }

    /// Checks before any work that `path` can be created: its directory exists and is writable.
    /// - Throws: `CommandError.usage` naming the option, the file and the directory.
    static func checkWritable(_ path: String, option: String) throws(CommandError) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .usage("--\(option) \(path): directory \(directory) does not exist; create it first")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
            throw .usage("--\(option) \(path): directory \(directory) is not writable; choose another place")
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw .usage("--\(option) \(path) is a directory; give a file name such as \(path)/out.npy")
        }
    }

    /// The multi-index of row-major flat index `flat` in `shape`.
    static func multiIndex(of flat: Int, in shape: [Int]) -> [Int] {
        var rest = flat
        var index = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }
}
