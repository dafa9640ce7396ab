import Foundation

/// The contents of a file or directory a run reads (a parameter declared as an input), for its
/// cache key: the same path with other contents is another run.
public enum InputDigest {
    /// Inputs larger than this are identified by their files' sizes and modification times
    /// instead of their contents, so a key never costs more than reading a gigabyte.
    static let contentLimit = 1 << 30

    /// `sha256:<hex>` of the contents; `meta:<hex>` of paths, sizes and modification times for
    /// an input over `contentLimit`; `missing` when nothing is there (the run says why).
    static func of(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return "missing" }
        // A device or a pipe has no contents to hash: /dev/urandom would be read forever.
        if problem(with: path) != nil { return "special" }
        let files = isDirectory.boolValue ? regularFiles(under: url) : [(relative: "", url: url)]
        var total = 0
        var metadata = SHA256()
        for file in files {
            let values = try? file.url.resourceValues(forKeys: [.fileSizeKey, .contentModificationDateKey])
            let size = values?.fileSize ?? 0
            total += size
            metadata.update(Array("\(file.relative)\u{0}\(size)\u{0}\(values?.contentModificationDate?.timeIntervalSince1970 ?? 0)\u{0}".utf8))
        }
        guard total <= contentLimit else { return "meta:" + metadata.hexDigest() }
        if isDirectory.boolValue { return "sha256:" + ResultsStore.digest(directory: url).0 }
        guard let input = InputStream(url: url) else { return "missing" }
        return "sha256:" + ResultsStore.digest(file: input).0
    }

    /// Why `path` cannot be an input: it exists and is neither a regular file nor a folder (a
    /// device, a pipe, a socket), which a run would read forever or block on; nil otherwise.
    public static func problem(with path: String) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        guard (try? URL(fileURLWithPath: path).resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile != true else { return nil }
        return "\(path) is not a regular file or a folder (a device, a pipe or a socket); give a file"
    }

    private static func regularFiles(under directory: URL) -> [(relative: String, url: URL)] {
        let root = directory.standardizedFileURL.path
        var files: [(relative: String, url: URL)] = []
        let keys: [URLResourceKey] = [.isRegularFileKey]
        if let walk = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: keys) {
            for case let url as URL in walk where (try? url.resourceValues(forKeys: Set(keys)))?.isRegularFile == true {
                files.append((String(url.standardizedFileURL.path.dropFirst(root.count).drop { $0 == "/" }), url))
            }
        }
        return files.sorted { $0.relative < $1.relative }
    }
}
