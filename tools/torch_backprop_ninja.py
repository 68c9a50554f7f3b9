#!/usr/bin/python3
"""PyTorch reference for models/backprop_ninja.net (makemore part 4, "becoming a backprop ninja"), for
tests/values_test.cpp: the gradient of the loss with respect to every intermediate of the notebook's forward pass,
which `netc grad --values` must reproduce.

It runs the notebook's own code (karpathy/nn-zero-to-hero, lectures/makemore/makemore_part4_backprop.ipynb):
the words shuffled by random.seed(42), the datasets built with block_size 3, the parameters drawn from
g = torch.Generator().manual_seed(2147483647) (C, W1, b1, W2, b2, as the notebook does), bngain and bnbias from
torch's global generator (the notebook leaves it unseeded; here torch.manual_seed(42), so the fixture is
reproducible), one minibatch of 32 drawn from g, and the forward pass in the notebook's atoms with retain_grad()
on every intermediate. The forward and backward run in float64 from the float32 parameters.

Files under tests/fixtures/backprop_ninja/:
  weights.safetensors   the 7 parameters, F32, as drawn (4,137 values)
  batch.safetensors     Xb [32, 3] and Yb [32], I64
  expected.safetensors  "loss" (F64), then every parameter's and every intermediate's gradient (F64) under the
                        notebook's names (emb, embcat, hprebn, ..., logprobs)

Usage: /usr/bin/python3 tools/torch_backprop_ninja.py [--names data/names.txt]
                                                      [--out tests/fixtures/backprop_ninja]
"""
import argparse
import os
import random

import torch

from torch_reference import save_safetensors

# The notebook's intermediates, in the order of its forward pass.
INTERMEDIATES = ["emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw",
                 "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum",
                 "counts_sum_inv", "probs", "logprobs"]
PARAMETERS = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", default=os.path.join(here, "..", "data", "names.txt"))
    ap.add_argument("--out", default=os.path.join(here, "..", "tests", "fixtures", "backprop_ninja"))
    args = ap.parse_args()

    # ---- the notebook's data cells ----
    words = open(args.names, "r").read().splitlines()
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    vocab_size = len(stoi)
    block_size = 3

    def build_dataset(words):
        X, Y = [], []
        for w in words:
            context = [0] * block_size
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]
        return torch.tensor(X), torch.tensor(Y)

    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    Xtr, Ytr = build_dataset(words[:n1])

    # ---- the notebook's parameter cell ----
    torch.manual_seed(42)  # the global generator bngain and bnbias draw from (unseeded in the notebook)
    n_embd, n_hidden = 10, 64
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / ((n_embd * block_size) ** 0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    bngain = torch.randn((1, n_hidden)) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden)) * 0.1
    drawn = {"C": C, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "bngain": bngain, "bnbias": bnbias}
    assert sum(p.nelement() for p in drawn.values()) == 4137

    # ---- the minibatch cell ----
    batch_size = 32
    n = batch_size
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
    Xb, Yb = Xtr[ix], Ytr[ix]

    # ---- the forward cell, in float64 ----
    P = {k: v.double().requires_grad_() for k, v in drawn.items()}
    C, W1, b1, W2, b2, bngain, bnbias = (P[k] for k in PARAMETERS)
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hprebn = embcat @ W1 + b1
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff ** 2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = bngain * bnraw + bnbias
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum ** -1
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    values = {name: v for name, v in locals().items() if name in INTERMEDIATES}
    for t in values.values():
        t.retain_grad()
    loss.backward()

    os.makedirs(args.out, exist_ok=True)
    save_safetensors(os.path.join(args.out, "weights.safetensors"), drawn)
    save_safetensors(os.path.join(args.out, "batch.safetensors"), {"Xb": Xb, "Yb": Yb})
    expected = {"loss": loss.detach().reshape(1)}
    for name in PARAMETERS:
        expected[name] = P[name].grad
    for name in INTERMEDIATES:
        expected[name] = values[name].grad
    save_safetensors(os.path.join(args.out, "expected.safetensors"), expected)
    print(f"loss {loss.item():.9f}; {len(expected) - 1} gradients written to {args.out}")


if __name__ == "__main__":
    main()
