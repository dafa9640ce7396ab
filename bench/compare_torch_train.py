#!/usr/bin/env python3
"""Times PyTorch training steps of the model `loom bench train` times, for a side-by-side.

Same architecture as Loom's Transformer: token and learned position embeddings, pre-LayerNorm
blocks (eps 1e-5) of causal multi-head attention and a ReLU FFN (hidden 4d), no biases in the
linear layers, a final LayerNorm and an untied output layer; AdamW (β = 0.9, 0.99, weight decay
1e-4), gradient clipping at 1. A full step: forward, cross-entropy, backward, clip, update.
Random tokens stand in for the Bigram-Backcopy batches (drawing them is not timed in either).

    python3 bench/compare_torch_train.py --models 1x64,3x64,1x256,3x256 --threads 2
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.out = nn.Linear(d, d, bias=False)
        self.up, self.down = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)
        self.heads = heads

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
        return x + self.down(F.relu(self.up(self.ln2(x))))


class Model(nn.Module):
    def __init__(self, vocab, context, layers, d, heads):
        super().__init__()
        self.token, self.position = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(d, eps=1e-5)
        self.unembed = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        x = self.token(tokens) + self.position(torch.arange(tokens.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.unembed(self.ln(x))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="1x64,3x64,1x256,3x256")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"PyTorch {torch.__version__}, {args.threads} threads, context {args.context}, batch {args.batch}, "
          f"{args.steps} steps per sample, median of {args.repeat}")
    print(f"{'layers':>8}{'d':>6}{'tokens/s':>12}{'ms/step':>10}")
    for item in args.models.split(","):
        layers, d = (int(x) for x in item.split("x"))
        model = Model(67, args.context, layers, d, 1)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.99), weight_decay=1e-4)
        tokens = torch.randint(0, 67, (args.batch, args.context + 1))

        def step():
            logits = model(tokens[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, 67), tokens[:, 1:].reshape(-1))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()

        step()
        samples = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            samples.append((time.perf_counter() - start) / args.steps)
        seconds = statistics.median(samples)
        print(f"{layers:>8}{d:>6}{args.batch * args.context / seconds:>12.0f}{seconds * 1000:>10.2f}")


if __name__ == "__main__":
    main()
