#!/usr/bin/env python3
"""PyTorch's side of `loom bench attention|train --compare-torch`: one timed sample per request.

Loom starts this script once per benchmark and alternates its own samples with PyTorch's, so
both see the same drift of a noisy machine. The protocol is one JSON object per line on stdin,
one JSON object per line on stdout (nothing else is printed there):

  {"op": "hello", "threads": 2}
      -> {"torch": "2.15.0", "threads": 2, "capability": "AVX512"}  or  {"error": "..."}
  {"op": "attention", "n": 8192, "heads": 8, "head_dim": 64, "causal": true, "pass": "fwd"|"bwd"}
      -> {"seconds": 0.41}: torch.nn.functional.scaled_dot_product_attention, forward alone, or
         the backward alone after an untimed forward with autograd
  {"op": "train", "layers": 1, "d": 64, "heads": 1, "context": 64, "batch": 64, "vocabulary": 67, "steps": 5}
      -> {"seconds": 0.012, "steps_before": 1}: seconds per full training step
         (compare_torch_train.py's model), and how many steps that model had run before them

A case's tensors or model are built on its first request; a request with "warm_up": true runs
one untimed step (or attention call) first. A training model is kept across requests that differ
only in "steps", so a one-step warm-up request warms the model the timed requests then run.
Sizes are checked against bounds before anything is allocated.
"""
import json
import os
import sys
import time

MAX_ELEMENTS = 1 << 28          # per attention tensor: 1 GiB of float32
MAX_TRAIN = {"layers": 64, "d": 4096, "heads": 256, "context": 65536, "batch": 65536, "vocabulary": 1 << 20, "steps": 10000}


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def positive_int(request, key, limit):
    value = request.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > limit:
        raise ValueError(f"{key} must be a whole number in 1...{limit}, got {value!r}")
    return value


def main():
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as error:
        reply({"error": f"PyTorch is not importable by {sys.executable} ({error}); install it with: pip install torch"})
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from compare_torch_train import Model

    cases = {}
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("each line must be one JSON object")
            op = request.get("op")
            if op == "hello":
                torch.set_num_threads(positive_int(request, "threads", 1024))
                torch.manual_seed(20240601)
                reply({"torch": torch.__version__, "threads": torch.get_num_threads(),
                       "capability": torch.backends.cpu.get_cpu_capability()})
            elif op == "attention":
                n = positive_int(request, "n", MAX_ELEMENTS)
                heads = positive_int(request, "heads", 4096)
                head_dim = positive_int(request, "head_dim", 4096)
                if n * heads * head_dim > MAX_ELEMENTS:
                    raise ValueError(f"n·H·d = {n * heads * head_dim} is past the bound {MAX_ELEMENTS}")
                causal = bool(request.get("causal"))
                backward = request.get("pass") == "bwd"
                key = ("attention", n, heads, head_dim)
                if key not in cases:
                    cases.clear()          # one case's tensors at a time
                    cases[key] = [torch.randn(1, heads, n, head_dim) for _ in range(4)]
                q, k, v, dout = cases[key]
                if backward:
                    def sample():
                        qg, kg, vg = (t.detach().requires_grad_(True) for t in (q, k, v))
                        out = F.scaled_dot_product_attention(qg, kg, vg, is_causal=causal)
                        start = time.perf_counter()
                        out.backward(dout)
                        return time.perf_counter() - start
                else:
                    def sample():
                        start = time.perf_counter()
                        with torch.no_grad():
                            F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        return time.perf_counter() - start
                if request.get("warm_up", False):
                    sample()
                reply({"seconds": sample()})
            elif op == "train":
                shape = {name: positive_int(request, name, limit) for name, limit in MAX_TRAIN.items()}
                if shape["d"] % shape["heads"] != 0:
                    raise ValueError(f"heads {shape['heads']} must divide d {shape['d']}")
                # The model, not the step count: the one-step warm-up must warm the model the
                # timed steps then run (keyed with `steps`, it built a second, cold one).
                key = ("train",) + tuple(sorted((name, value) for name, value in shape.items() if name != "steps"))
                if key not in cases:
                    cases.clear()
                    model = Model(shape["vocabulary"], shape["context"], shape["layers"], shape["d"], shape["heads"])
                    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.99), weight_decay=1e-4)
                    tokens = torch.randint(0, shape["vocabulary"], (shape["batch"], shape["context"] + 1))
                    cases[key] = [model, optimizer, tokens, 0]
                model, optimizer, tokens, taken = cases[key]
                vocabulary = shape["vocabulary"]

                def step():
                    logits = model(tokens[:, :-1])
                    loss = F.cross_entropy(logits.reshape(-1, vocabulary), tokens[:, 1:].reshape(-1))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()

                if request.get("warm_up", False):
                    step()
                    taken += 1
                start = time.perf_counter()
                for _ in range(shape["steps"]):
                    step()
                seconds = (time.perf_counter() - start) / shape["steps"]
                cases[key][3] = taken + shape["steps"]
                reply({"seconds": seconds, "steps_before": taken})
            else:
                raise ValueError(f"unknown op {op!r}; use hello, attention or train")
        except Exception as error:          # one bad request answers with its reason, the peer goes on
            reply({"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
