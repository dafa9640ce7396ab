#!/usr/bin/env python3
"""Checks a Loom store after a cluster test: every run of the sweep succeeded exactly once,
and reports lost attempts and where Slurm placed the workers.

usage: store-check.py STORE.db EXPECTED_RUNS [--lost-at-least N] [--slurm]
Prints one JSON object; exits 1 (naming what failed) when a check fails."""
import json
import sqlite3
import sys


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path, expected = args[0], int(args[1])
    lost_at_least = int(args[args.index("--lost-at-least") + 1]) if "--lost-at-least" in args else 0
    want_slurm = "--slurm" in args
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    succeeded = dict(db.execute("SELECT cache_key, COUNT(*) FROM run WHERE status = 'SUCCEEDED' GROUP BY cache_key"))
    repeated = sorted(key for key, count in succeeded.items() if count > 1)
    unfinished = db.execute(
        "SELECT COUNT(DISTINCT cache_key) FROM run WHERE cache_key NOT IN "
        "(SELECT cache_key FROM run WHERE status IN ('SUCCEEDED'))").fetchone()[0]
    attempts = dict(db.execute("SELECT status, COUNT(*) FROM attempt GROUP BY status"))
    workers = [dict(name=name, host=host, scheduler=json.loads(scheduler) if scheduler else None)
               for name, host, scheduler in db.execute("SELECT name, host, scheduler FROM worker ORDER BY id")]
    invocations = db.execute("SELECT COUNT(*) FROM invocation").fetchone()[0]
    report = dict(runs_succeeded=len(succeeded), expected=expected, repeated=repeated, unfinished=unfinished,
                  attempts=attempts, invocations=invocations, workers=len(workers),
                  slurm_workers=sum(1 for w in workers if w["scheduler"] and "SLURM_JOB_ID" in w["scheduler"]))
    problems = []
    if len(succeeded) != expected:
        problems.append(f"{len(succeeded)} runs succeeded, expected {expected}")
    if repeated:
        problems.append(f"runs that succeeded more than once: {repeated[:5]}")
    if attempts.get("LOST", 0) < lost_at_least:
        problems.append(f"{attempts.get('LOST', 0)} lost attempts recorded, expected at least {lost_at_least}")
    if want_slurm:
        placed = [w for w in workers if w["scheduler"] and {"SLURM_JOB_ID", "SLURM_PROCID"} <= set(w["scheduler"])]
        if not placed:
            problems.append("no worker row records its SLURM_JOB_ID and SLURM_PROCID")
        report["placement_example"] = placed[0]["scheduler"] if placed else None
    report["problems"] = problems
    print(json.dumps(report, sort_keys=True))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
