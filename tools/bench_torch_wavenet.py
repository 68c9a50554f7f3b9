#!/usr/bin/python3
"""Makemore part 5's WaveNet training step in PyTorch eager mode with the notebook's own layer classes
(Embedding, FlattenConsecutive, Linear, Tanh, Sequential as the lecture writes them), timed like `netc bench`:
the reference point for tools/bench/wavenet_like.net, whose products have leading dimensions.

    /usr/bin/python3 tools/bench_torch_wavenet.py --data ../shared/data/names.txt --batch 32

The default is tools/bench/wavenet_like.net: context 8, n_embd 24, n_hidden 128, each BatchNorm1d replaced by
the Linear's bias; --batchnorm runs the notebook's model itself (Linear without bias, BatchNorm1d over dims
(0, 1), Tanh), for netc models that can say it. A dev tool only: nothing in the build depends on it.
"""
import argparse
import os
import statistics
import sys

from bench_torch import build_examples, ensure_single_threaded_openblas, print_setup, time_steps, timing_text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "names.txt"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000, help="timed steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--context", type=int, default=8)
    ap.add_argument("--emb", type=int, default=24)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--batchnorm", action="store_true", help="the notebook's BatchNorm1d instead of biases")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS's threads")
    args = ap.parse_args()
    if args.batch < 1 or args.steps < 1:
        sys.exit("bench_torch_wavenet.py: --batch and --steps must be at least 1")

    ensure_single_threaded_openblas(args.threads)
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    words = [w.strip() for w in open(args.data) if w.strip()]
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    V = len(stoi)
    xs, ys = build_examples(words, stoi, args.context)
    X, Y = torch.tensor(xs), torch.tensor(ys)

    # The notebook's classes (makemore part 5), unchanged.
    from makemore_part5 import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh

    torch.manual_seed(42)
    E, H, bn = args.emb, args.hidden, args.batchnorm

    def stage(fan_in):
        return [FlattenConsecutive(2), Linear(fan_in, H, bias=not bn)] + ([BatchNorm1d(H)] if bn else []) + [Tanh()]

    model = Sequential([Embedding(V, E)] + stage(E * 2) + stage(H * 2) + stage(H * 2) + [Linear(H, V)])
    with torch.no_grad():
        model.layers[-1].weight *= 0.1
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True

    def step():
        ix = torch.randint(0, X.shape[0], (args.batch,))
        logits = model(X[ix])
        loss = F.cross_entropy(logits, Y[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -args.lr * p.grad
        return loss

    times = time_steps(step, args.warmup, args.steps)
    print_setup(torch)
    B = args.batch
    flops = 3 * 2 * B * (4 * 2 * E * H + 2 * 2 * H * H + 2 * H * H + H * V)  # each product and its two gradients
    print(f"batch {args.batch}, {args.steps} steps after {args.warmup} warm-up: {timing_text(times)}; "
          f"{flops / statistics.median(times) / 1e9:.2f} GFLOP/s (matmul FLOPs)")


if __name__ == "__main__":
    main()
