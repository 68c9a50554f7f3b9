#!/usr/bin/python3
"""Part 5's WaveNet training step in PyTorch eager mode with the notebook's own classes (tools/torch_wavenet.py),
timed like `netc bench models/wavenet.net`: one thread, OpenBLAS, the notebook's loop (a minibatch from the
global generator, forward, cross-entropy, grads set to None, backward, SGD update).

    /usr/bin/python3 tools/bench_torch_wavenet.py --batch 32
    /usr/bin/python3 tools/bench_vs_torch.py --model models/wavenet.net --torch-script bench_torch_wavenet.py

A dev tool only: nothing in the build depends on it.
"""
import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import ensure_single_threaded_openblas, print_setup, time_steps, timing_text  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "names.txt"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000, help="timed steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS's threads")
    args = ap.parse_args()
    if args.batch < 1 or args.steps < 1:
        sys.exit("bench_torch_wavenet.py: --batch and --steps must be at least 1")

    ensure_single_threaded_openblas(args.threads)
    import torch
    import torch.nn.functional as F
    from torch_wavenet import build_model

    torch.set_num_threads(args.threads)
    try:
        words = open(args.data).read().splitlines()
    except OSError as e:
        sys.exit(f"bench_torch_wavenet.py: cannot read the dataset: {e}")
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    random.seed(42)
    random.shuffle(words)
    xs, ys = [], []
    for w in words[:int(0.8 * len(words))]:
        context = [0] * 8
        for ch in w + ".":
            xs.append(context)
            ys.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    Xtr, Ytr = torch.tensor(xs), torch.tensor(ys)
    model = build_model(len(stoi), 24, 128)
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True

    def step():
        ix = torch.randint(0, Xtr.shape[0], (args.batch,))
        logits = model(Xtr[ix])
        loss = F.cross_entropy(logits, Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -0.1 * p.grad
        return loss

    times = time_steps(step, args.warmup, args.steps)
    print_setup(torch)
    # The four products (4 positions x 48 -> 128, 2 x 256 -> 128, 256 -> 128, 128 -> 27), forward and the two
    # gradient products each.
    flops = 3 * 2 * args.batch * (4 * 48 * 128 + 2 * 256 * 128 + 256 * 128 + 128 * 27)
    print(f"batch {args.batch}, {args.steps} steps after {args.warmup} warm-up: {timing_text(times)}; "
          f"{flops / sorted(times)[len(times) // 2] / 1e9:.2f} GFLOP/s (matmul FLOPs)")


if __name__ == "__main__":
    main()
