#!/usr/bin/python3
"""The makemore lecture's MLP trained the lecture's way in PyTorch, with its random streams: the words split by
random.seed(42); random.shuffle, g = torch.Generator().manual_seed(2147483647) drawing the weights in the
notebook's order and then one torch.randint(0, len(Xtr), (32,)) per step. It prints what the notebook
prints (the minibatch loss every 10,000 steps) and the final full-split losses, to compare with
`netc run models/mlp_NAME.net` (whose data and train sections ask for the same streams).

Usage: /usr/bin/python3 tools/lecture_reference.py --model kaiming [--steps 200000] [--words data/names.txt]
Models: original, fixed_output, fixed_tanh, kaiming (makemore part 3's stages), batchnorm (its first
BatchNorm form). A full run takes a few minutes on one core.
"""
import argparse
import os
import random

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def build_dataset(words, stoi, block_size):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="kaiming", choices=["original", "fixed_output", "fixed_tanh", "kaiming", "batchnorm"])
    ap.add_argument("--steps", type=int, default=200000)
    ap.add_argument("--log-every", type=int, default=10000)
    ap.add_argument("--draw-b1", action="store_true", help="batchnorm: draw the unused b1 after W1 anyway")
    ap.add_argument("--words", default=os.path.join(HERE, "..", "data", "names.txt"))
    a = ap.parse_args()
    torch.set_num_threads(1)

    words = open(a.words, 'r').read().splitlines()
    chars = sorted(list(set(''.join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi['.'] = 0
    vocab_size = len(stoi)
    block_size = 3
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    n2 = int(0.9 * len(words))
    Xtr, Ytr = build_dataset(words[:n1], stoi, block_size)
    Xdev, Ydev = build_dataset(words[n1:n2], stoi, block_size)
    Xte, Yte = build_dataset(words[n2:], stoi, block_size)
    print(f"words {len(words)}: first {', '.join(words[:5])}; examples train {Xtr.shape[0]}, dev {Xdev.shape[0]}, "
          f"test {Xte.shape[0]}")

    n_embd, n_hidden = 10, 200
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab_size, n_embd), generator=g)
    m = a.model
    if m == "original":
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g)
        b1 = torch.randn(n_hidden, generator=g)
        W2 = torch.randn((n_hidden, vocab_size), generator=g)
        b2 = torch.randn(vocab_size, generator=g)
    elif m == "fixed_output":
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g)
        b1 = torch.randn(n_hidden, generator=g)
        W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
        b2 = torch.randn(vocab_size, generator=g) * 0
    elif m == "fixed_tanh":
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * 0.2
        b1 = torch.randn(n_hidden, generator=g) * 0.01
        W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
        b2 = torch.randn(vocab_size, generator=g) * 0
    else:  # kaiming; batchnorm has no b1 (the batch mean removes any bias) and so draws none
        W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
        if m == "kaiming" or a.draw_b1:
            b1 = torch.randn(n_hidden, generator=g) * 0.01
        W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.01
        b2 = torch.randn(vocab_size, generator=g) * 0
    bn = m == "batchnorm"
    if bn:
        bngain = torch.ones((1, n_hidden))
        bnbias = torch.zeros((1, n_hidden))
        bnmean_running = torch.zeros((1, n_hidden))
        bnstd_running = torch.ones((1, n_hidden))
        parameters = [C, W1, W2, b2, bngain, bnbias]
    else:
        parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True

    def forward(X, train):
        nonlocal bnmean_running, bnstd_running
        emb = C[X]
        embcat = emb.view(emb.shape[0], -1)
        if not bn:
            hpreact = embcat @ W1 + b1
        else:
            hpreact = embcat @ W1
            if train:
                bnmeani = hpreact.mean(0, keepdim=True)
                bnstdi = hpreact.std(0, keepdim=True)
                hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias
                with torch.no_grad():
                    bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani
                    bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi
            else:
                hpreact = bngain * (hpreact - bnmean_running) / bnstd_running + bnbias
        h = torch.tanh(hpreact)
        return h @ W2 + b2

    if not bn:
        bnmean_running = bnstd_running = None
    batch_size = 32
    for i in range(a.steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        loss = F.cross_entropy(forward(Xb, True), Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < 100000 else 0.01
        for p in parameters:
            p.data += -lr * p.grad
        if i % a.log_every == 0:
            print(f'{i:7d}/{a.steps:7d}: {loss.item():.4f}', flush=True)

    with torch.no_grad():
        for name, (X, Y) in (("train", (Xtr, Ytr)), ("val", (Xdev, Ydev))):
            print(name, F.cross_entropy(forward(X, False), Y).item())


if __name__ == "__main__":
    main()
