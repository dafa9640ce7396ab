import Foundation
internal import CZeroMQ

/// A directory of CURVE key files, by default `~/.loom/keys`:
///
///     coordinator.key   the secret key, mode 0600: 40 Z85 characters on one line
///     coordinator.pub   the public key to hand out: 40 Z85 characters on one line
///     allowed_keys      the client public keys a server accepts (see `AllowList`)
///
/// Lines starting with `#` in key files are comments. Every error is `WireError.keys` naming the
/// file (and line) and the command that fixes it.
public struct KeyStore: Sendable {
    /// The allow-list's file name inside the directory.
    public static let allowListFileName = "allowed_keys"

    /// `~/.loom/keys`, where `~` is `$HOME` (Foundation's home directory when it is unset).
    public static var defaultDirectory: String {
        let home = ProcessInfo.processInfo.environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.loom/keys"
    }

    /// The directory holding the key files.
    public let directory: String

    /// A store in `directory`; nothing is read or created until a key is saved or loaded.
    public init(directory: String = KeyStore.defaultDirectory) {
        self.directory = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
    }

    /// The path of `NAME.key`, the secret key.
    public func secretKeyPath(_ name: String) -> String { "\(directory)/\(name).key" }

    /// The path of `NAME.pub`, the public key.
    public func publicKeyPath(_ name: String) -> String { "\(directory)/\(name).pub" }

    /// The path of the default allow-list, `allowed_keys` in the directory.
    public var allowListPath: String { "\(directory)/\(KeyStore.allowListFileName)" }

    /// Whether `NAME.key` or `NAME.pub` exists.
    public func containsPair(named name: String) -> Bool {
        FileManager.default.fileExists(atPath: secretKeyPath(name))
            || FileManager.default.fileExists(atPath: publicKeyPath(name))
    }

    // MARK: writing

    /// Generates a fresh pair and saves it as `NAME.key` and `NAME.pub`.
    /// - Parameter overwrite: replace an existing pair (clients that trust the old public key will
    ///   be refused).
    /// - Returns: the new pair.
    /// - Throws: `WireError.keys` for a bad name, an existing pair without `overwrite`, or a write
    ///   that failed; `WireError.call` when libzmq has no CURVE.
    @discardableResult
    public func generate(name: String, overwrite: Bool = false) throws(WireError) -> CurveKeyPair {
        try checkWritable(name: name, overwrite: overwrite)
        let pair = try CurveKeyPair.generate()
        try save(pair, name: name, overwrite: overwrite)
        return pair
    }

    /// Saves `pair` as `NAME.key` (mode 0600) and `NAME.pub` (mode 0644), creating the directory
    /// with mode 0700 if needed. Each file is written whole and then renamed into place.
    /// - Throws: `WireError.keys` for a bad name, an existing pair without `overwrite`, or a write
    ///   that failed.
    public func save(_ pair: CurveKeyPair, name: String, overwrite: Bool = false) throws(WireError) {
        try checkWritable(name: name, overwrite: overwrite)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .keys("cannot create the key directory \(directory) (\(KeyStore.reason(error))); "
                        + "check its parent's permissions or pass another directory with --keys DIR")
        }
        try write(pair.secretKey.text + "\n", to: secretKeyPath(name), mode: 0o600)
        try write(pair.publicKey.text + "\n", to: publicKeyPath(name), mode: 0o644)
    }

    private func checkWritable(name: String, overwrite: Bool) throws(WireError) {
        try KeyStore.checkName(name)
        if !overwrite && containsPair(named: name) {
            throw .keys("a key pair named '\(name)' already exists in \(directory); keep it, or replace it with "
                        + "'\(generateCommand(name)) --force' (clients holding the old public key will be refused)")
        }
    }

    private func write(_ text: String, to path: String, mode: mode_t) throws(WireError) {
        let temporary = "\(path).tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw .keys("cannot create \(temporary) (\(String(cString: strerror(errno)))); check that \(directory) is writable")
        }
        let bytes = Array(text.utf8)
        // fchmod because the umask may have cleared bits of `mode` (0644 for public keys).
        let written = fchmod(fd, mode) == 0 && Foundation.write(fd, bytes, bytes.count) == bytes.count && fsync(fd) == 0
        let code = errno
        close(fd)
        guard written, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(written ? errno : code))
            unlink(temporary)
            throw .keys("cannot write \(path) (\(reason)); check that \(directory) is writable and not full")
        }
    }

    // MARK: reading

    /// Loads the pair `NAME.key` and `NAME.pub`, checking that they belong together.
    /// - Throws: `WireError.keys` when a file is missing or malformed, the secret key file is
    ///   readable by group or others, or the public key does not match the secret key.
    public func loadPair(named name: String) throws(WireError) -> CurveKeyPair {
        try KeyStore.checkName(name)
        let secretPath = secretKeyPath(name)
        try checkPrivate(secretPath)
        let secretKey = try readKey(at: secretPath, name: name)
        let publicKey = try readKey(at: publicKeyPath(name), name: name)
        var derived = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&derived, secretKey.text) == 0 else { throw .lastCall("zmq_curve_public(\(secretPath))") }
        let derivedText = String(decoding: derived.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard derivedText == publicKey.text else {
            throw .keys("\(publicKeyPath(name)) does not match \(secretPath) (its public key is \(derivedText)); "
                        + "write that key into the .pub file, or make a new pair with '\(generateCommand(name)) --force'")
        }
        return CurveKeyPair(publicKey: publicKey, secretKey: secretKey)
    }

    /// Loads the public key `NAME.pub` (a server's key, copied to its clients).
    /// - Throws: `WireError.keys` when the file is missing or malformed.
    public func loadPublicKey(named name: String) throws(WireError) -> CurveKey {
        try KeyStore.checkName(name)
        return try readKey(at: publicKeyPath(name), name: name)
    }

    /// Reads an allow-list: `path`, or `allowed_keys` in the directory when nil.
    /// - Throws: `WireError.keys` naming the file, or `path:line` for a bad line.
    public func loadAllowList(path: String? = nil) throws(WireError) -> AllowList {
        let file = path ?? allowListPath
        // Whoever can write the list, or replace it in its folder, decides who may connect.
        try checkNotWritableByOthers(file, what: "the allow-list")
        try checkNotWritableByOthers(URL(fileURLWithPath: file).deletingLastPathComponent().path, what: "the allow-list's folder")
        return try AllowList(contentsOf: file)
    }

    /// Refuses a file or folder that group or others can write (a missing one is named later).
    private func checkNotWritableByOthers(_ path: String, what: String) throws(WireError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value else { return }
        let sticky = mode & 0o1000 != 0 && (attributes[.type] as? FileAttributeType) == .typeDirectory
        if mode & 0o022 != 0 && !sticky {
            throw .keys("\(what) \(path) can be written by group or others (mode \(String(mode & 0o777, radix: 8))), so anyone could "
                        + "add a key and run tasks as you; run 'chmod go-w \(path)'")
        }
    }

    /// Refuses a secret key file that group or others can read or write.
    private func checkPrivate(_ path: String) throws(WireError) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value else { return }  // readKey names it
        if mode & 0o077 != 0 {
            throw .keys("\(path) is open to group or others (mode \(String(mode & 0o777, radix: 8))); "
                        + "a secret key must be private: run 'chmod 600 \(path)'")
        }
    }

    /// Reads the one key line of a key file; `#` lines and blank lines are skipped.
    private func readKey(at path: String, name: String) throws(WireError) -> CurveKey {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .keys("\(path) does not exist; run '\(generateCommand(name))', or copy the file there")
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .keys("cannot read \(path) (\(KeyStore.reason(error))); check its owner and mode")
        }
        var key: CurveKey?
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, !AllowList.isComment(trimmed) else { continue }
            guard key == nil else {
                throw .keys("\(path):\(index + 1): a second key line; a key file holds one key (and '#' comments)")
            }
            do {
                key = try CurveKey(text: trimmed)
            } catch {
                throw .keys("\(path):\(index + 1): \(error.detail); restore the file or run '\(generateCommand(name)) --force'")
            }
        }
        guard let key else {
            throw .keys("\(path) holds no key line; restore the file or run '\(generateCommand(name)) --force'")
        }
        return key
    }

    // MARK: helpers

    /// The command that (re)creates pair `name` in this directory, for error messages.
    func generateCommand(_ name: String) -> String {
        let keys = directory == KeyStore.defaultDirectory ? "" : " --keys \(directory)"
        return "loom keys generate --name \(name)\(keys)"
    }

    /// Whether `name` can name a pair: 1 to 64 letters, digits, `.`, `_` or `-`, not starting with
    /// `.` (so a name never leaves the directory or hides its files).
    public static func isUsableName(_ name: String) -> Bool {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7a)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        return allowed && !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
    }

    static func checkName(_ name: String) throws(WireError) {
        guard isUsableName(name) else {
            throw .keys("'\(name)' is not a usable key name; use 1 to 64 letters, digits, '.', '_' or '-', "
                        + "not starting with '.', e.g. 'coordinator' or 'worker-3'")
        }
    }

    /// The POSIX reason inside a Foundation file error, or its description.
    static func reason(_ error: any Error) -> String {
        let error = error as NSError
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return error.localizedDescription
    }
}
