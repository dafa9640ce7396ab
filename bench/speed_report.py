#!/usr/bin/env python3
"""Loom's speed goals on this machine, in one sitting: attention and training against PyTorch.

Runs `loom bench attention`, `loom bench train` (both with --compare-torch, PyTorch alternated
sample by sample), `loom bench fusions` and `loom bench gemm` (a step's products at d = 64 and
256, each against the register tile timed in the same turns: not a goal, but where the products
stand), keeps their JSON, and writes a Markdown report that
names the CPU and the tile and marks each goal met or short (against a baseline, on the median
of the ratios taken turn by turn where loom gives them, with how many turns reached the goal):

  attention at n = 8192, d = 64 and 128, causal and not:
      forward >= 0.85 and backward >= 0.75 of OpenBLAS sgemm measured in the same run,
      >= 1.15x PyTorch's CPU flash attention (scaled_dot_product_attention)
  training (batch 64, context 64):
      >= 1.5x PyTorch eager at d = 64 (1 and 3 layers), >= 1.2x at d = 256,
      a fraction of the machine's measured peak >= 0.5 at d = 64, >= 0.7 at d = 256

    python3 bench/speed_report.py --out speed          # about 14 minutes on a 2-core Zen 3 VM
    python3 bench/speed_report.py --quick --out speed  # small sizes: checks the pipeline, not the goals

Every ratio is measured within one invocation; a figure from another machine is not evidence.
PyTorch is looked for in --python (default: this interpreter); without it the torch columns say
so and the goals against it are left open.
"""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ATTENTION_GOALS = {"fwd": 0.85, "bwd": 0.75}
TORCH_ATTENTION_GOAL = 1.15
TRAIN_GOALS = {64: (1.5, 0.5), 256: (1.2, 0.7)}   # d: (vs PyTorch, fraction of peak)


def markdown(text):
    """Text as a literal in a Markdown table cell: no markup, no HTML, no cell break."""
    out = []
    for ch in str(text):
        if ch in "\\`*_[]|~":
            out.append("\\" + ch)
        elif ch in "<>&":
            out.append({"<": "&lt;", ">": "&gt;", "&": "&amp;"}[ch])
        elif ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def verdict(value, goal):
    if value is None:
        return "open (not measured)"
    return ("met" if value >= goal else "short") + f" (goal {goal:g})"


def number(value, digits=2):
    return "—" if value is None else f"{value:.{digits}f}"


def turn_values(turns):
    """The per-turn values of a `*_turns` object from loom's JSON, or [] when it has none."""
    if not isinstance(turns, dict):
        return []
    values = turns.get("values")
    return [v for v in values if isinstance(v, (int, float))] if isinstance(values, list) else []


def with_turns(value, turns, digits=2):
    """A ratio and, when loom gave it turn by turn, its lowest and highest turn: `0.83 [0.78–0.88]`."""
    values = turn_values(turns)
    text = number(value, digits)
    return text + (f" [{min(values):.{digits}f}–{max(values):.{digits}f}]" if values and value is not None else "")


def order_effects(rows, key):
    """Per case, the median of its odd turns over that of its even turns. loom runs Loom first in
    the even turns (0, 2, ...) and last in the odd ones; a case needs two turns, all numbers."""
    effects = []
    for r in rows:
        turns = r.get(key)
        values = turns.get("values") if isinstance(turns, dict) else None
        if not isinstance(values, list) or len(values) < 2 or len(turn_values(turns)) != len(values):
            continue
        first, last = turn_median(values[0::2]), turn_median(values[1::2])
        if first > 0:
            effects.append(last / first)
    return effects


def turn_median(values):
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def commands(loom, python, quick):
    torch = ["--compare-torch", "--python", python] if python else []
    if quick:
        return {
            "attention": [loom, "bench", "attention", "--sizes", "1024", "--head-dims", "64", "--naive-max", "0",
                          "--repeat", "1"] + torch + ["--json"],
            "train": [loom, "bench", "train", "--models", "1x64,1x256", "--repeat", "1", "--steps", "2"] + torch + ["--json"],
            "fusions": [loom, "bench", "fusions", "--models", "1x64", "--rounds", "4", "--json"],
            "gemm64": [loom, "bench", "gemm", "--d", "16", "--tokens", "256", "--repeat", "2", "--json"],
            "gemm256": [loom, "bench", "gemm", "--d", "32", "--tokens", "256", "--repeat", "2", "--json"],
        }
    # Six turns: as many with Loom first as with Loom last (loom reverses the order every other
    # turn), so neither order decides the median turn.
    return {
        "attention": [loom, "bench", "attention", "--sizes", "8192", "--head-dims", "64,128", "--naive-max", "0",
                      "--repeat", "6"] + torch + ["--json"],
        "train": [loom, "bench", "train", "--models", "1x64,3x64,1x256", "--repeat", "6"] + torch + ["--json"],
        "fusions": [loom, "bench", "fusions", "--models", "1x64,3x64,1x256", "--json"],
        "gemm64": [loom, "bench", "gemm", "--d", "64", "--repeat", "9", "--json"],
        "gemm256": [loom, "bench", "gemm", "--d", "256", "--repeat", "9", "--json"],
    }


# `--avx2`: every side on its AVX2 code on a machine that has AVX-512 (Loom's AVX2 tile, OpenBLAS's
# Haswell kernels, PyTorch's AVX2 kernels, MKL and oneDNN held to AVX2): a preview of the AVX2
# path, not a measurement of an AVX2-only machine, whose cores and caches differ.
AVX2_ENVIRONMENT = {"LOOM_KERNEL": "avx2", "OPENBLAS_CORETYPE": "Haswell", "ATEN_CPU_CAPABILITY": "avx2",
                    "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


# OpenBLAS's cores with AVX-512 kernels; a pin to any other on an AVX-512 CPU halves sgemm there
# (Zen 5: 245 against 470 GFLOP/s), which would flatter every "vs sgemm" of the AVX-512 sitting.
AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}


def cpu_has_avx512():
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return any(line.startswith("flags") and "avx512f" in line.split() for line in f)
    except OSError:
        return False


def sitting_environment(avx2):
    """The benchmarks' environment, and a note when a pinned OpenBLAS core was dropped from it."""
    if avx2:
        return dict(os.environ, **AVX2_ENVIRONMENT), None
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if not pinned or pinned.lower() in AVX512_CORES or not cpu_has_avx512():
        return None, None
    if os.environ.get("LOOM_KERNEL", "auto").lower() not in ("", "auto", "avx512"):
        return None, None
    environment = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    return environment, (f"OPENBLAS_CORETYPE={pinned} in the environment was dropped: it pins OpenBLAS to kernels "
                         "without AVX-512 beside Loom's AVX-512 tile (use --avx2 to hold every side to AVX2)")


def run(name, argv, environment=None):
    """One benchmark's JSON; its progress goes to this terminal. No shell sees any argument."""
    print(f"speed_report: {name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=sys.stderr, check=False, env=environment)
    if done.returncode != 0:
        raise SystemExit(f"speed_report: 'loom {' '.join(argv[1:3])}' exited with {done.returncode}")
    text = done.stdout.decode("utf-8", "replace")
    start = text.find("{")
    if start < 0:
        raise SystemExit(f"speed_report: 'loom {' '.join(argv[1:3])}' printed no JSON")
    return json.loads(text[start:])


def report(attention, train, fusions, quick=False, avx2=False, gemm=(), dropped=None):
    """The Markdown report and the count of goals met, short and open."""
    counts = {"met": 0, "short": 0, "open": 0}

    def mark(value, goal, turns=None):
        # Judged turn by turn where loom gave the turns: the median of the per-turn ratios, each
        # taken with its baseline back to back, is not moved by a phase of the machine that one
        # side's samples caught and the other's missed, as the ratio of two medians can be.
        values = turn_values(turns) if value is not None else []
        judged = turn_median(values) if values else value
        text = verdict(judged, goal)
        counts[text.split(" ")[0]] += 1
        if values:
            reached = sum(1 for v in values if v >= goal)
            text = text[:-1] + f"; median turn {judged:.2f}, {reached}/{len(values)} turns)"
        return text

    lines = ["# Loom's speed goals on this machine", ""]
    if quick:
        lines += ["Quick sizes (`--quick`): a check of the pipeline, not the goals' measurement.", ""]
    if avx2:
        lines += ["Every side on its AVX2 code (`--avx2`) on a CPU with AVX-512: a preview of the AVX2 path, "
                  "not a measurement of an AVX2-only machine.", ""]
    lines.append(f"- CPU: {markdown(train.get('cpu') or attention.get('cpu', 'unknown'))}")
    lines.append(f"- Loom: commit {markdown(train.get('commit', '?'))}, {markdown(train.get('simd', '?'))}")
    lines.append(f"- OpenBLAS core: {markdown(train.get('openblas_core', '?'))}"
                 + (f" ({markdown(dropped)})" if dropped else ""))
    warning = train.get("baseline_warning") or attention.get("baseline_warning")
    if warning:
        lines.append(f"- Warning: {markdown(warning)}")
    torch, capability = train.get("torch") or attention.get("torch"), attention.get("torch_capability")
    found = markdown(torch) + (f" ({markdown(capability)})" if capability else "") if torch else None
    missing = train.get("torch_note") or attention.get("torch_note") or "torch is not importable here (pip install torch, or --python PATH)"
    lines.append(f"- PyTorch: {found or 'not compared: ' + markdown(missing)}")
    peak, together = train.get("peak_gflops"), train.get("peak_together_gflops") or []
    if peak and together and min(together) < 0.75 * peak:
        lines.append(f"- **Slowed machine**: the tile on all cores at once ran at {min(together) / peak:.2f} of the peak "
                     "during this run; its ratios are of a slowed machine, run again.")
    lines += ["", "## Attention (same run: OpenBLAS sgemm and PyTorch alternated)", "",
              "| n | d | mask | pass | Loom GFLOP/s | vs sgemm | goal | PyTorch GFLOP/s | vs PyTorch | goal |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in attention.get("results", []):
        mask = "causal" if r.get("causal") else "full"
        lines.append(f"| {r['n']} | {r['head_dim']} | {mask} | {r['pass']} | {number(r.get('gflops'), 1)} | "
                     f"{with_turns(r.get('ratio'), r.get('ratio_turns'))} | "
                     f"{mark(r.get('ratio'), ATTENTION_GOALS[r['pass']], r.get('ratio_turns'))} | "
                     f"{number(r.get('torch_gflops'), 1)} | {with_turns(r.get('ratio_torch'), r.get('ratio_torch_turns'))} | "
                     f"{mark(r.get('ratio_torch'), TORCH_ATTENTION_GOAL, r.get('ratio_torch_turns'))} |")
    lines += ["", "Each ratio is that of the medians; in brackets the lowest and highest of the same ratio turn by "
              "turn (each turn runs Loom and its baselines back to back). Where the turns are given, a goal is "
              "judged on the median turn, and the count says how many turns reached it: a verdict whose turns "
              "straddle the goal can flip in the next sitting."]
    lines += ["", "## Training, batch 64, context 64 (PyTorch eager alternated)", "",
              "| layers | d | Loom tokens/s | PyTorch tokens/s | vs PyTorch | goal | of peak | goal | beside |",
              "|---|---|---|---|---|---|---|---|---|"]
    slowed = []
    for r in train.get("results", []):
        goals = TRAIN_GOALS.get(r["d"])
        versus = mark(r.get("ratio_torch"), goals[0], r.get("ratio_torch_turns")) if goals else "—"
        peak_mark = mark(r.get("fraction_of_peak"), goals[1]) if goals else "—"
        beside = r.get("fraction_of_peak_beside")
        if goals and peak_mark.startswith("short") and beside is not None and beside >= goals[1]:
            slowed.append(f"{r['layers']}x{r['d']}")
        torch_rate = r.get("torch_tokens_per_s")
        lines.append(f"| {r['layers']} | {r['d']} | {r['tokens_per_s']:,.0f} | "
                     f"{'—' if torch_rate is None else f'{torch_rate:,.0f}'} | "
                     f"{with_turns(r.get('ratio_torch'), r.get('ratio_torch_turns'))} | {versus} | "
                     f"{number(r.get('fraction_of_peak'))} | {peak_mark} | {number(beside)} |")
    lines += ["", "\"Of peak\" divides by the fastest the tile ran in this run; \"beside\" by the tile on all cores "
              "measured beside each sample (the median of those ratios), the machine's speed at that moment. "
              "The goal is on \"of peak\"."]
    fastest, fastest_peak = train.get("fastest_tile"), train.get("fastest_tile_peak_gflops")
    if fastest and fastest_peak and peak:
        lines += ["", f"The peak is that of the {markdown(train.get('peak_tile', '?'))} tile the products ran on, "
                      f"{peak:.1f} GFLOP/s, as on a machine without a faster one; this CPU's {markdown(fastest)} tile "
                      f"reached {fastest_peak:.1f} ({fastest_peak / peak:.2f}× it)."]
    if slowed:
        lines += ["", f"Short of peak but met beside ({', '.join(slowed)}): the machine was slower during those steps "
                  "than at its fastest (a shared VM's phases); run `make speed` again for the goal's measurement."]
    checks = [(label, order_effects(rows, key)) for label, rows, key in [
        ("attention vs sgemm", attention.get("results", []), "ratio_turns"),
        ("attention vs PyTorch", attention.get("results", []), "ratio_torch_turns"),
        ("training vs PyTorch", train.get("results", []), "ratio_torch_turns")]]
    checks = [(label, effects) for label, effects in checks if effects]
    if checks:
        lines += ["", "## Turn order", "",
                  "Loom runs first in the even turns and last in the odd ones (its baselines in the reverse order), "
                  "so the order of the samples cancels in the medians above. Per case, the median ratio of the "
                  "Loom-last turns over that of the Loom-first turns, then the median of the cases: far from 1.00, "
                  "the order moves the ratios on this machine and only such balanced medians should be quoted.", "",
                  "| ratio | Loom last over Loom first (median of the cases) | lowest–highest case | cases |",
                  "|---|---|---|---|"]
        for label, effects in checks:
            lines.append(f"| {label} | {turn_median(effects):.3f} | {min(effects):.3f}–{max(effects):.3f} | {len(effects)} |")
    lines += ["", "## What each fusion gains (interleaved steps; slower with it off)", "",
              "| layers | d | switched off | ms per step | vs all fused |", "|---|---|---|---|---|"]
    for r in fusions.get("results", []):
        change = None if r.get("configuration") == "all fused" else r.get("slower_than_fused")
        lines.append(f"| {r.get('layers')} | {r.get('d')} | {markdown(r.get('configuration', '?'))} | "
                     f"{number(r.get('ms_per_step'), 3)} | {'—' if change is None else f'{100 * change:+.1f} %'} |")
    lines += products_section(gemm)
    lines += ["", f"Goals: {counts['met']} met, {counts['short']} short, {counts['open']} open."]
    return "\n".join(lines) + "\n", counts


def products_section(runs):
    """`loom bench gemm` runs as a table of each product against sgemm and the tile; no goal."""
    runs = [run for run in runs if run and run.get("results")]
    if not runs:
        return []
    lines = ["", "## Each product of a step, one thread (bench gemm; not a goal)", "",
             "Loom's TiledGEMM against OpenBLAS sgemm and against the register tile alone on data in L1, both "
             "timed in the same turns: \"of tile\" is where a product stands against what the tile did at that "
             "moment, so the weakest products are the next work on this machine.", "",
             "| d | product | op | m × n × k | Loom GFLOP/s | vs sgemm | of tile |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        for r in run["results"]:
            shape = markdown(f"{r.get('m')} × {r.get('n')} × {r.get('k')}")
            lines.append(f"| {markdown(run.get('d'))} | {markdown(r.get('name', '?'))} | {markdown(r.get('op', '?'))} | {shape} | "
                         f"{number(r.get('loom_gflops'), 1)} | {with_turns(r.get('ratio'), r.get('ratio_turns'))} | "
                         f"{number(r.get('of_tile'))} |")
    return lines


def torch_python(requested):
    """The interpreter to hand loom for PyTorch, or None when torch is not importable there."""
    python = requested or sys.executable
    probe = subprocess.run([python, "-c", "import torch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return python if probe.returncode == 0 else None


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loom", default=os.path.join(ROOT, ".build", "release", "loom"), help="a release build of loom")
    parser.add_argument("--python", help="the Python that has torch (default: this one)")
    parser.add_argument("--out", default="speed-report", help="directory for report.md and the JSON (default speed-report)")
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the pipeline, not the goals")
    parser.add_argument("--avx2", action="store_true",
                        help="Loom, OpenBLAS and PyTorch on their AVX2 code (a preview on an AVX-512 machine)")
    args = parser.parse_args()
    if not os.access(args.loom, os.X_OK):
        raise SystemExit(f"speed_report: no loom at {args.loom}; build it with 'swift build -c release' or give --loom PATH")
    python = torch_python(args.python)
    if python is None:
        print("speed_report: torch is not importable here; the PyTorch goals stay open "
              "(pip install torch, or give --python PATH)", file=sys.stderr)
    os.makedirs(args.out, exist_ok=True)
    results = {}
    environment, dropped = sitting_environment(args.avx2)
    if dropped:
        print(f"speed_report: {dropped}", file=sys.stderr)
    for name, argv in commands(args.loom, python, args.quick).items():
        results[name] = run(name, argv, environment)
        with open(os.path.join(args.out, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(results[name], f, indent=1, sort_keys=True)
    text, counts = report(results["attention"], results["train"], results["fusions"], quick=args.quick, avx2=args.avx2,
                          gemm=[results["gemm64"], results["gemm256"]], dropped=dropped)
    path = os.path.join(args.out, "report.md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    print(f"speed_report: wrote {path}" + (" (quick sizes: not the goals' measurement)" if args.quick else ""), file=sys.stderr)
    return 1 if counts["short"] and not args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
