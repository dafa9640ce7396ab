#!/usr/bin/env python3
"""Two builds of Loom (or two settings of one) timed against each other, round by round.

On a shared or virtual machine the speed of a core drifts by tens of percent within minutes, so
two benchmark runs made one after the other compare the drift, not the code. This runs the same
`loom bench` command on variant A and variant B in turns (A B, then B A, ...), and for every case
reports B's value over A's from the same round: the median of those paired ratios, their range,
and in how many rounds B was ahead. A change is worth keeping when B is ahead in most rounds, not
when one run's median happens to be higher.

    python3 bench/ab.py --a /tmp/loom-old --b .build/release/loom -- train --models 1x256 --repeat 3
    python3 bench/ab.py --a .build/release/loom --b-args '--key-block 256' --rounds 8 -- \\
        attention --sizes 8192 --head-dims 128 --pass fwd

The command after `--` is a `loom bench` subcommand and its options; `--json` is added. The
value compared is the benchmark's own rate (attention: gflops, train: tokens_per_s, gemm:
loom_gflops; --metric names another field of its results), so higher is faster. Nothing goes
through a shell: each run is an argument list.
"""

import argparse
import json
import shlex
import statistics
import subprocess
import sys

# Per benchmark: the result fields that name a case, and the rate compared by default.
BENCHMARKS = {
    "attention": (("n", "heads", "head_dim", "causal", "pass"), "gflops"),
    "train": (("layers", "d", "products"), "tokens_per_s"),
    "gemm": (("name",), "loom_gflops"),
}
MAX_ROUNDS = 1000


def case_name(result, keys):
    return " ".join(f"{key}={result[key]}" for key in keys if key in result)


def values_of(document, metric):
    """{case: value} from one run's JSON document."""
    name = document.get("benchmark")
    if name not in BENCHMARKS:
        raise ValueError(f"ab: benchmark {name!r} has no case fields here; use one of {', '.join(BENCHMARKS)}")
    keys, default = BENCHMARKS[name]
    metric = metric or default
    values = {}
    for result in document.get("results", []):
        value = result.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[case_name(result, keys)] = float(value)
    if not values:
        raise ValueError(f"ab: no result of {name!r} has a numeric {metric!r}")
    return values


def compare(rounds_a, rounds_b):
    """Per case: A's and B's medians, and B/A paired round by round."""
    table = []
    for case in rounds_a[0]:
        pairs = [(a[case], b[case]) for a, b in zip(rounds_a, rounds_b) if case in a and case in b and a[case] > 0]
        if not pairs:
            continue
        ratios = [b / a for a, b in pairs]
        table.append({
            "case": case,
            "a_median": statistics.median(a for a, _ in pairs),
            "b_median": statistics.median(b for _, b in pairs),
            "ratio_median": statistics.median(ratios),
            "ratio_min": min(ratios),
            "ratio_max": max(ratios),
            "b_ahead": sum(1 for r in ratios if r > 1),
            "rounds": len(ratios),
        })
    return table


def render(table, labels):
    header = f"{'case':<40} {labels[0] + ' median':>14} {labels[1] + ' median':>14} {'B/A paired':>11} {'range':>13} {'B ahead':>8}"
    lines = [header]
    for row in table:
        lines.append(f"{row['case']:<40} {row['a_median']:>14.1f} {row['b_median']:>14.1f} {row['ratio_median']:>11.3f} "
                     f"{row['ratio_min']:>6.3f}-{row['ratio_max']:<6.3f} {row['b_ahead']:>4}/{row['rounds']}")
    return "\n".join(lines)


def run_once(binary, extra, command, metric):
    argv = [binary, "bench"] + command + extra + ["--json"]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ab: {' '.join(shlex.quote(a) for a in argv)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise RuntimeError(f"ab: {binary} printed no JSON ({error}); is it a release build?") from error
    return document, values_of(document, metric)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Alternate two Loom variants on one `loom bench` command.")
    parser.add_argument("--a", default=".build/release/loom", help="variant A's loom binary (default .build/release/loom)")
    parser.add_argument("--b", help="variant B's loom binary (default: A's)")
    parser.add_argument("--a-args", default="", help="options added to A's command, e.g. '--key-block 512'")
    parser.add_argument("--b-args", default="", help="options added to B's command")
    parser.add_argument("--rounds", type=int, default=6, help=f"rounds of A and B (default 6, at most {MAX_ROUNDS})")
    parser.add_argument("--metric", help="result field to compare (default: the benchmark's rate)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the bench subcommand and its options")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the bench command after --, e.g. -- train --models 1x64")
    if not 1 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be 1 … {MAX_ROUNDS} (got {args.rounds})")
    b = args.b or args.a
    extra_a, extra_b = shlex.split(args.a_args), shlex.split(args.b_args)
    if b == args.a and extra_a == extra_b:
        parser.error("A and B are the same binary with the same options; give --b or --a-args/--b-args")

    rounds_a, rounds_b, machine = [], [], None
    try:
        for index in range(args.rounds):
            order = [("A", args.a, extra_a), ("B", b, extra_b)]
            if index % 2:
                order.reverse()
            got = {}
            for label, binary, extra in order:
                document, values = run_once(binary, extra, command, args.metric)
                machine = machine or document.get("cpu")
                got[label] = values
            rounds_a.append(got["A"])
            rounds_b.append(got["B"])
            print(f"ab: round {index + 1}/{args.rounds} done", file=sys.stderr)
    except (RuntimeError, ValueError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    table = compare(rounds_a, rounds_b)
    if args.json:
        print(json.dumps({"cpu": machine, "a": [args.a] + extra_a, "b": [b] + extra_b, "command": command,
                          "rounds": args.rounds, "cases": table}, indent=1))
    else:
        print(f"A: {' '.join([args.a] + extra_a)}\nB: {' '.join([b] + extra_b)}\ncpu: {machine}; "
              f"{args.rounds} rounds, the order alternating")
        print(render(table, ("A", "B")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
