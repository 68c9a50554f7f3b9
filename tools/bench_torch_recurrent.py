#!/usr/bin/python3
"""makemore.py's RNN or GRU training step in PyTorch eager mode, timed like `netc bench models/gru.net`: the
reference point for the compiled recurrent step. One thread, OpenBLAS, makemore.py's own classes and defaults
(n_embd 64, n_embd2 64, AdamW lr 5e-4, weight decay 0.01, betas (0.9, 0.99), eps 1e-8); each timed step picks a
minibatch of whole words by index (no data loader), runs forward and cross-entropy at every position
(ignore_index=-1), zeroes the gradients, backward, and the AdamW step.

    /usr/bin/python3 tools/bench_torch_recurrent.py --cell gru --batch 32
    /usr/bin/python3 tools/bench_vs_torch.py --model models/gru.net --torch-script bench_torch_recurrent.py \\
        --torch-args "--cell gru"

A dev tool only: nothing in the build depends on it.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import ensure_single_threaded_openblas, print_setup, time_steps, timing_text  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "names.txt"))
    ap.add_argument("--cell", choices=["rnn", "gru"], default="gru")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000, help="timed steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS's threads")
    args = ap.parse_args()
    if args.batch < 1 or args.steps < 1:
        sys.exit("bench_torch_recurrent.py: --batch and --steps must be at least 1")

    ensure_single_threaded_openblas(args.threads)
    import torch
    from makemore_recurrent import Config, encode
    from torch_recurrent import RNN

    torch.set_num_threads(args.threads)
    torch.manual_seed(3407)
    try:
        words = [w.strip() for w in open(args.data) if w.strip()]
    except OSError as e:
        sys.exit(f"bench_torch_recurrent.py: cannot read the dataset: {e}")
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    T = max(len(w) for w in words) + 1
    X, Y = encode(words, stoi, T)
    model = RNN(Config(len(chars) + 1, T), args.cell)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)

    def step():
        ix = torch.randint(0, len(X), (args.batch,))
        _, loss = model(X[ix], Y[ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times = time_steps(step, args.warmup, args.steps)
    print_setup(torch)
    print(f"{args.cell}, T {T}, batch {args.batch}, {args.steps} steps after {args.warmup} warm-up: {timing_text(times)}")

if __name__ == "__main__":
    main()
