#!/usr/bin/python3
"""makemore.py's RNN or GRU trained with its defaults (n_embd 64, n_embd2 64, batch 32, AdamW lr 5e-4,
weight decay 0.01, betas (0.9, 0.99), eps 1e-8), on makemore's split of the words (test set min(1000, 10%)),
to compare with `netc run models/rnn.net` / `models/gru.net`. Prints the mean loss over the whole test set
(and train set) at the end, as netc reports them, and the steps per second. One thread.

Usage: /usr/bin/python3 tools/makemore_recurrent.py rnn|gru [--steps 5000] [--report-at 5000,50000] [--data data/names.txt]
--report-at: also print the losses at these steps of the same run (one 50,000-step run gives both figures).
"""
import argparse
import time

import torch
from torch.nn import functional as F

from torch_recurrent import RNN  # makemore.py's classes


class Config:
    def __init__(self, vocab_size, block_size):
        self.vocab_size, self.block_size, self.n_embd, self.n_embd2 = vocab_size, block_size, 64, 64


def encode(words, stoi, T):
    x = torch.zeros(len(words), T, dtype=torch.long)
    y = torch.full((len(words), T), -1, dtype=torch.long)
    for r, w in enumerate(words):
        ix = torch.tensor([stoi[c] for c in w], dtype=torch.long)
        x[r, 1:1 + len(w)] = ix
        y[r, :len(w)] = ix
        y[r, len(w)] = 0
    return x, y


@torch.no_grad()
def mean_loss(model, x, y):
    total, count = 0.0, 0
    for i in range(0, len(x), 1000):
        logits, _ = model(x[i:i + 1000])
        yy = y[i:i + 1000].reshape(-1)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), yy, ignore_index=-1, reduction="sum").item()
        count += (yy >= 0).sum().item()
    return total / count


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cell", choices=["rnn", "gru"])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--data", default="data/names.txt")
    ap.add_argument("--seed", type=int, default=3407)
    ap.add_argument("--report-at", default="", help="comma-separated steps at which to print the losses too")
    a = ap.parse_args()
    report_at = {int(s) for s in a.report_at.split(",") if s}
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    words = [w.strip() for w in open(a.data) if w.strip()]
    chars = sorted(set("".join(words)))
    stoi = {c: i + 1 for i, c in enumerate(chars)}
    T = max(len(w) for w in words) + 1
    test_n = min(1000, int(len(words) * 0.1))
    rp = torch.randperm(len(words)).tolist()
    train = [words[i] for i in rp[:-test_n]]
    test = [words[i] for i in rp[-test_n:]]
    xtr, ytr = encode(train, stoi, T)
    xte, yte = encode(test, stoi, T)
    model = RNN(Config(len(chars) + 1, T), a.cell)
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8)
    t0, timed = time.time(), 0.0  # timed: training only, the evaluations left out
    for step in range(1, a.steps + 1):
        ix = torch.randint(0, len(xtr), (32,))
        _, loss = model(xtr[ix], ytr[ix])
        model.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step in report_at or step == a.steps:
            timed += time.time() - t0
            print(f"{a.cell}: {step} steps, {step / timed:.0f} steps/s; train {mean_loss(model, xtr, ytr):.4f} "
                  f"test {mean_loss(model, xte, yte):.4f}", flush=True)
            t0 = time.time()


if __name__ == "__main__":
    main()
