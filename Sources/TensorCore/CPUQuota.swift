import Foundation

/// A cgroup's CPU bandwidth limit in whole CPUs, rounded up, or nil when none is set. A container
/// run with `--cpus=2` (or a Kubernetes CPU limit) may use every core of its affinity mask, but
/// only two cores' worth of time: threads spinning beyond that are throttled together.
///
/// Read from cgroup v2's `cpu.max` ("200000 100000"; "max 100000" is no limit) or v1's
/// `cpu.cfs_quota_us` (−1 is none) over `cpu.cfs_period_us`: the lowest along the process's
/// cgroup and its ancestors, as the kernel applies them.
enum CPUQuota {
    /// `quota / period` rounded up, or nil when either says no limit.
    static func cores(quota: Int, period: Int) -> Int? {
        guard quota > 0, period > 0 else { return nil }
        return (quota + period - 1) / period
    }

    /// The cores of a v2 `cpu.max` text.
    static func cores(cpuMax text: String) -> Int? {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]) else { return nil }
        return cores(quota: quota, period: period)
    }

    /// The process's cgroup paths in `/proc/self/cgroup`'s text: the v2 one ("0::/path") and the
    /// v1 one of the cpu controller ("4:cpu,cpuacct:/path").
    static func paths(procCgroup text: String) -> (unified: String?, cpu: String?) {
        var unified: String?, cpu: String?
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[0] == "0" && fields[1].isEmpty { unified = String(fields[2]) }
            if fields[1].split(separator: ",").contains("cpu") { cpu = String(fields[2]) }
        }
        return (unified, cpu)
    }

    /// `path` and each of its ancestors up to "/", as directory suffixes ("/a/b", "/a", "").
    static func lineage(_ path: String) -> [String] {
        var parts = path.split(separator: "/").map(String.init), result: [String] = []
        while true {
            result.append(parts.isEmpty ? "" : "/" + parts.joined(separator: "/"))
            if parts.isEmpty { return result }
            parts.removeLast()
        }
    }

    /// The lowest limit over the process's cgroups under `root`, nil when none is set.
    static func current(root: String = "/sys/fs/cgroup") -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        let (unified, cpu) = paths(procCgroup: text)
        func read(_ file: String) -> String? { try? String(contentsOfFile: file, encoding: .utf8) }
        var limits: [Int] = []
        if let unified {
            for mount in [root, root + "/unified"] {
                for directory in lineage(unified) {
                    if let text = read(mount + directory + "/cpu.max"), let cores = cores(cpuMax: text) { limits.append(cores) }
                }
            }
        }
        if let cpu {
            for mount in [root + "/cpu", root + "/cpu,cpuacct", root + "/cpuacct,cpu"] {
                for directory in lineage(cpu) {
                    let base = mount + directory
                    if let quota = read(base + "/cpu.cfs_quota_us").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                       let period = read(base + "/cpu.cfs_period_us").flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                       let cores = cores(quota: quota, period: period) {
                        limits.append(cores)
                    }
                }
            }
        }
        return limits.min()
    }
}
