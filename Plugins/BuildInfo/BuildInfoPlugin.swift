import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the git commit of the package and whether tracked files differ from it)
/// into the target, so `loom version` and benchmark headers name the code they ran.
///
/// A build command whose inputs are git's `HEAD`, index and current branch ref, and every source file
/// of the package: a commit, a checkout, `git add` or an edit to a source file re-runs it (an edit to
/// another tracked file shows as dirty once it is added or a source changes). A prebuild command looked
/// simpler, but SwiftPM 6.3 ran it only when it re-planned the build, so a release binary built after
/// a commit that changed no source went on naming the previous commit. It runs `/bin/sh` and writes
/// `unknown` when git or `.git` is absent, as in a source tarball, so the build never fails on
/// provenance.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "Generated")
        let file = output.appending(path: "BuildInfo.swift")
        let scratch = context.pluginWorkDirectoryURL.appending(path: "BuildInfo.swift.next")
        return [
            .buildCommand(
                displayName: "BuildInfo: git commit of \(context.package.displayName) for \(target.name)",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", Self.script, "BuildInfo",
                            context.package.directoryURL.path, output.path, scratch.path]
                    + Self.codeFiles(context.package).map(\.path),
                environment: [:],
                inputFiles: Self.gitFiles(context.package.directoryURL) + Self.sourceFiles(context.package)
                    + [context.package.directoryURL.appending(path: "Package.swift")],
                outputFiles: [file]),
        ]
    }

    /// `.git/HEAD`, `.git/index` and the branch ref HEAD names, those that exist (a worktree's `.git`
    /// is a file; then only source edits re-run the command).
    static func gitFiles(_ package: URL) -> [URL] {
        let git = package.appending(path: ".git")
        var files = [git.appending(path: "HEAD"), git.appending(path: "index"), git.appending(path: "packed-refs")]
        if let head = try? String(contentsOf: git.appending(path: "HEAD"), encoding: .utf8),
           head.hasPrefix("ref: ") {
            files.append(git.appending(path: head.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        return files.filter { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// Every source file of every target of the package, so that an edit marks the build dirty.
    static func sourceFiles(_ package: Package) -> [URL] {
        package.targets.flatMap { target -> [URL] in
            guard let source = target as? SourceModuleTarget else { return [] }
            return source.sourceFiles.map(\.url)
        }
    }

    /// The files whose bytes make the results: every source file, the manifest, and the default
    /// inputs under data/ (the shipped statistics and corpus), sorted, so the code identity (a
    /// hash of them) is the same wherever the package is checked out.
    static func codeFiles(_ package: Package) -> [URL] {
        let code = package.targets.flatMap { target -> [URL] in
            guard let source = target as? SourceModuleTarget, source.kind != .test else { return [] }
            return source.sourceFiles.map(\.url)
        }
        let dataDirectory = package.directoryURL.appending(path: "data")
        let data = ((try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.path)) ?? [])
            .filter { !$0.hasPrefix(".") }.map { dataDirectory.appending(path: $0) }
        return (code + data + [package.directoryURL.appending(path: "Package.swift")]).sorted { $0.path < $1.path }
    }

    /// `$1` package directory, `$2` output directory, `$3` scratch file outside the output directory
    /// (every `.swift` file there is compiled), then the code files to hash. GIT_OPTIONAL_LOCKS=0 keeps `git status` from writing
    /// the index, so a read-only checkout or a sandbox works too.
    static let script = #"""
        set -u
        dir="$1"; out="$2"; next="$3"
        shift 3
        mkdir -p "$out" || exit 1
        # Each file's path inside the package, then its bytes: a rename changes the identity too.
        code=$(for file in "$@"; do printf '%s\n' "${file#"$dir"/}"; cat "$file"; done | sha256sum | cut -c1-16)
        [ -n "$code" ] || code=unknown
        commit=unknown; dirty=false
        if command -v git >/dev/null 2>&1; then
            export GIT_OPTIONAL_LOCKS=0
            if found=$(git -C "$dir" rev-parse --short=12 HEAD 2>/dev/null) && [ -n "$found" ]; then
                commit="$found"
                if [ -n "$(git -C "$dir" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                    dirty=true
                fi
            fi
        fi
        cat > "$next" <<SWIFT
        // Generated by Plugins/BuildInfo before each build; do not edit.

        /// Where this build of Loom came from.
        enum BuildInfo {
            /// The git commit of the package when it was built (12 hex digits), or "unknown" without git.
            static let commit = "$commit"
            /// Whether tracked files differed from that commit (untracked files are not counted).
            static let isDirty = $dirty
            /// SHA-256 (16 hex digits) of every source file and the manifest: the code's identity,
            /// exact whether or not the tree is committed.
            static let codeHash = "$code"
        }
        SWIFT
        mv -f "$next" "$out/BuildInfo.swift"
        """#
}
