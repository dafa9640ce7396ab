#!/usr/bin/env python3
"""Times torch.nn.functional.scaled_dot_product_attention on the CPU at `loom bench attention` shapes.

Optional and outside the tests: it gives an outside reference point for the figures in
BENCHMARKS.md. It uses the same shapes (B = 1, H heads, n = m, head dims 64 and 128, causal and
not), the same FLOP formulas as Loom (forward 4*H*d*P with P the visible (query, key) pairs,
n*m or n(n+1)/2 causal; forward+backward 3.5x forward, i.e. backward 2.5x), one discarded
warm-up, the median of the repeats, and its own square sgemm baseline through torch.mm.

    python3 bench/compare_torch.py --sizes 1024,2048,4096 --threads 2 --repeat 5

Like Loom's, its ratios are only meaningful against its own baseline on the same machine in the
same run. torch's "causal" is aligned to the top-left; with n = m that is the same mask as Loom's.
"""

import argparse
import json
import platform
import statistics
import sys
import time


def parse_list(text):
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 1024,2048; got {text!r}")
    if any(value < 1 for value in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive; got {text!r}")
    return values


def forward_flops(n, heads, head_dim, causal):
    """Useful forward FLOPs: 4*H*d per visible (query, key) pair (two n-by-m products)."""
    pairs = n * (n + 1) // 2 if causal else n * n
    return 4.0 * heads * head_dim * pairs


def median_seconds(body, repeat):
    """One discarded warm-up, then the median wall time of `repeat` calls."""
    body()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        body()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), min(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_list, default=[1024, 2048, 4096, 8192],
                        help="sequence lengths n = m (default 1024,2048,4096,8192)")
    parser.add_argument("--head-dims", type=parse_list, default=[64, 128], help="head dimensions (default 64,128)")
    parser.add_argument("--heads", type=int, default=8, help="heads H (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--repeat", type=int, default=5, help="timed samples after one warm-up (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        sys.exit("compare_torch.py needs PyTorch, which is not installed here.\n"
                 "Install the CPU build with:  pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
                 "This script is optional: Loom's own benchmark is 'make bench'.")

    torch.set_num_threads(args.threads)
    torch.manual_seed(20240601)
    header = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "host": platform.node(),
        "cpu": platform.processor() or platform.machine(),
        "repeat": args.repeat,
    }

    sgemm_cache = {}

    def sgemm_gflops(flops):
        """torch.mm at the square size whose 2*s^3 FLOPs match, s rounded to 128 in 256..4096 (as Loom)."""
        size = min(4096, max(256, int(round((flops / 2) ** (1 / 3) / 128)) * 128))
        if size not in sgemm_cache:
            a = torch.randn(size, size)
            b = torch.randn(size, size)
            seconds, _ = median_seconds(lambda: torch.mm(a, b), args.repeat)
            sgemm_cache[size] = 2.0 * size ** 3 / seconds / 1e9
        return size, sgemm_cache[size]

    results = []
    for n in args.sizes:
        for head_dim in args.head_dims:
            # [B, H, n, d]: torch's layout; the values are what matters, not Loom's [n, H, d] order.
            q = torch.randn(1, args.heads, n, head_dim)
            k = torch.randn(1, args.heads, n, head_dim)
            v = torch.randn(1, args.heads, n, head_dim)
            dout = torch.randn(1, args.heads, n, head_dim)
            for causal in (False, True):
                for pass_name in ("fwd", "fwd+bwd"):
                    if pass_name == "fwd":
                        def body():
                            with torch.no_grad():
                                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        flops = forward_flops(n, args.heads, head_dim, causal)
                    else:
                        qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))

                        def body():
                            for t in (qg, kg, vg):
                                t.grad = None
                            out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                            out.backward(dout)
                        flops = 3.5 * forward_flops(n, args.heads, head_dim, causal)
                    seconds, fastest = median_seconds(body, args.repeat)
                    size, sgemm = sgemm_gflops(flops)
                    gflops = flops / seconds / 1e9
                    row = {"n": n, "m": n, "heads": args.heads, "head_dim": head_dim, "causal": causal,
                           "pass": pass_name, "ms_median": seconds * 1e3, "ms_min": fastest * 1e3,
                           "gflops": gflops, "sgemm_gflops": sgemm, "sgemm_size": size, "ratio": gflops / sgemm}
                    results.append(row)
                    print(f"[{len(results)}] n={n} d={head_dim} causal={causal} {pass_name}: "
                          f"{row['ms_median']:.2f} ms, {gflops:.1f} GFLOP/s", file=sys.stderr)

    if args.json:
        print(json.dumps({**header, "results": results}, indent=2))
        return
    for key, value in header.items():
        print(f"{key:<8} {value}")
    print()
    print(f"{'n':>6} {'H':>3} {'d':>4} {'causal':<6} {'pass':<8} {'ms median':>10} {'ms min':>9} "
          f"{'GFLOP/s':>8} {'vs sgemm':>8} {'sgemm GFLOP/s':>16}")
    for r in results:
        print(f"{r['n']:>6} {r['heads']:>3} {r['head_dim']:>4} {('yes' if r['causal'] else 'no'):<6} "
              f"{r['pass']:<8} {r['ms_median']:>10.2f} {r['ms_min']:>9.2f} {r['gflops']:>8.1f} "
              f"{r['ratio']:>7.2f}x {r['sgemm_gflops']:>8.1f} ({r['sgemm_size']}^3)")
    print()
    print("FLOPs: forward 4*H*d*(visible pairs); fwd+bwd 3.5x forward (backward 2.5x), as in loom bench attention")


if __name__ == "__main__":
    main()
