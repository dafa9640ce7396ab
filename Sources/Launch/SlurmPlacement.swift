/// Where Slurm placed this process, read from the variables srun and sbatch set: recorded with
/// each worker (`loom status --json`, the store's `worker.scheduler`) so a result can be traced to
/// its job, task and node.
public enum SlurmPlacement {
    /// The variables kept, in this order; others (there are dozens) are left out.
    public static let variables = [
        "SLURM_CLUSTER_NAME", "SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_STEP_ID", "SLURM_PROCID",
        "SLURM_LOCALID", "SLURM_NODEID", "SLURMD_NODENAME", "SLURM_JOB_NODELIST", "SLURM_JOB_PARTITION", "SLURM_RESTART_COUNT",
    ]

    /// `KEY=VALUE` for each variable set in `environment`; empty outside Slurm. A value longer
    /// than 512 bytes (a huge node list) is cut there.
    public static func entries(_ environment: [String: String]) -> [String] {
        variables.compactMap { name in
            guard let value = environment[name], !value.isEmpty else { return nil }
            var kept = value
            while kept.utf8.count > 512 { kept.removeLast() }
            return "\(name)=\(kept)"
        }
    }
}
