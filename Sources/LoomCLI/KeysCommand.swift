import Foundation
import Wire

/// `loom keys generate`: makes a CURVE key pair for one node and says where to put its public key.
enum KeysCommand: Command {
    static let words = ["keys", "generate"]
    static let summary = "make a CURVE key pair for encrypted, authenticated cluster traffic"
    static let usage = "loom keys generate [--name NAME] [--keys DIR] [--force]"
    static let options: [Option] = [
        .value("name", "NAME", "the pair's name: NAME.key and NAME.pub (default: this host's short name)"),
        .value("keys", "DIR", "the key directory (default: ~/.loom/keys)"),
        .flag("force", "replace an existing pair of that name"),
    ]
    static let discussion = """
        Writes NAME.key (the secret key, mode 0600; it never leaves this machine) and NAME.pub (the \
        public key) as 40 characters of Z85 text, then prints the public key as a line for a \
        server's allowed_keys file. A coordinator accepts only workers listed in its allowed_keys; \
        workers need the coordinator's NAME.pub. Replacing a pair with --force locks out every peer \
        that holds the old public key until it is given the new one.

        Example: a coordinator and one worker
          loom keys generate --name coordinator            # on the coordinator
          loom keys generate --name worker-1               # on the worker
          # append the worker's printed line to the coordinator's ~/.loom/keys/allowed_keys,
          # copy coordinator.pub into the worker's ~/.loom/keys/
        """

    static func run(_ arguments: Arguments) throws(CommandError) {
        let name = arguments.string("name") ?? defaultName
        let store = arguments.string("keys").map { KeyStore(directory: $0) } ?? KeyStore()
        let pair: CurveKeyPair
        do throws(WireError) {
            pair = try store.generate(name: name, overwrite: arguments.flag("force"))
        } catch {
            // An existing pair or a bad name is the user's to fix (exit 2); a failed write is not.
            let isInput = (!arguments.flag("force") && store.containsPair(named: name)) || !KeyStore.isUsableName(name)
            throw isInput ? .usage(error.detail) : .failure(error.detail)
        }
        Console.progress("wrote \(store.secretKeyPath(name)) (secret, mode 0600) and \(store.publicKeyPath(name))")
        Console.progress("add this line to the allowed_keys of each server this node connects to:")
        Console.output("\(pair.publicKey) \(name)")
    }

    /// This host's name up to its first dot, or `loom` when it has none Loom can use.
    static var defaultName: String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? ""
        return KeyStore.isUsableName(host) ? host : "loom"
    }
}
