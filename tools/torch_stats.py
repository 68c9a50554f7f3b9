#!/usr/bin/python3
"""Probe statistics of the lecture's MLP as PyTorch computes them (float64), written as fixtures for
tests/stats_test.cpp, which checks that netc's instrumented graph (interpreter and JIT) agrees.

The weights come from a tiny portable generator (splitmix64 + Box-Muller, re-implemented in the test), so
the fixture stays small: it holds the seed, the scales, the batch and the expected statistics, not the
weights. The definitions follow the lecture (makemore part 3) and docs/stats.md:
  saturated share  (h.abs() > threshold).float().mean()      threshold = train.saturation, 0.97
  beyond 0.99      (h.abs() > 0.99).sum()
  dead unit        (h.abs() > 0.99).all(dim=0)                 every example of the batch
  std              torch.std (unbiased, n - 1)
  update-to-data   ((lr * p.grad).std() / p.data.std()).log10(), p after the update (as in the lecture)

Usage (Debian's python3 has torch): /usr/bin/python3 tools/torch_stats.py [--out tests/fixtures]
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

MASK = (1 << 64) - 1
BINS = 50
PRE_LO, PRE_HI = -10.0, 10.0  # ops/probe_layout.h: kPreLo, kPreHi
VAL_LO, VAL_HI = -20.0, 20.0  # kValueLo, kValueHi
SATURATION = 0.97
DEAD = 0.99
LR = 0.1
V, T, E, H, N = 27, 3, 10, 200, 32


class Portable:
    """splitmix64 outputs -> uniform [0, 1) with 53 bits -> Box-Muller (cosine branch only)."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0**-53

    def normal(self):
        u1 = max(self.uniform(), 1e-300)
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)

    def below(self, n):
        return int(self.uniform() * n)


def bins(values, lo, hi):
    """[under, kBins counts over [lo, hi), over], with netc's formula (probe::binOf)."""
    out = [0] * (BINS + 2)
    for v in values:
        if not v >= lo:
            out[0] += 1
        elif v >= hi:
            out[-1] += 1
        else:
            out[1 + min(int((v - lo) / (hi - lo) * BINS), BINS - 1)] += 1
    return out


def case(name, seed, scales):
    g = Portable(seed)
    shapes = {"C": (V, E), "W1": (T * E, H), "b1": (H,), "W2": (H, V), "b2": (V,)}
    params = {}
    for p, shape in shapes.items():  # declaration order of models/mlp_original.net
        n = math.prod(shape)
        data = [g.normal() * scales.get(p, 1.0) for _ in range(n)]
        params[p] = torch.tensor(data, dtype=torch.float64).view(shape).requires_grad_()
    x = [[g.below(V) for _ in range(T)] for _ in range(N)]
    y = [g.below(V) for _ in range(N)]
    X, Y = torch.tensor(x), torch.tensor(y)

    emb = params["C"][X]
    hpre = emb.view(N, T * E) @ params["W1"] + params["b1"]
    h = torch.tanh(hpre)
    logits = h @ params["W2"] + params["b2"]
    loss = F.cross_entropy(logits, Y)
    for p in params.values():
        p.grad = None
    loss.backward()

    hd, pd, ld = h.detach(), hpre.detach(), logits.detach()
    beyond = hd.abs() > DEAD
    dead = beyond.all(dim=0)
    pre_bins = bins(pd.flatten().tolist(), PRE_LO, PRE_HI)
    val_bins = bins(ld.flatten().tolist(), VAL_LO, VAL_HI)
    expected = {
        "loss": loss.item(),
        "h": {
            "pre_mean": pd.mean().item(), "pre_std": pd.std().item(),
            "mean": hd.mean().item(), "std": hd.std().item(),
            "saturated": int((hd.abs() > SATURATION).sum()),
            "saturated_share": (hd.abs() > SATURATION).double().mean().item(),
            "beyond99": int(beyond.sum()),
            "dead": dead.nonzero().flatten().tolist(),
            "hist": [int(c) for c in torch.histc(hd, bins=BINS, min=-1, max=1).tolist()],
            "pre_under": pre_bins[0], "pre_hist": pre_bins[1:-1], "pre_over": pre_bins[-1],
            # The dead-neuron image's rows: (example, unit) pairs beyond 0.99, as a checksum per row.
            "mask_row_counts": beyond.sum(dim=1).tolist(),
        },
        "logits": {
            "mean": ld.mean().item(), "std": ld.std().item(), "min": ld.min().item(), "max": ld.max().item(),
            "under": val_bins[0], "hist": val_bins[1:-1], "over": val_bins[-1],
        },
        "params": {},
    }
    with torch.no_grad():
        for p, t in params.items():
            new = t - LR * t.grad  # the lecture measures the ratio after `p.data += -lr * p.grad`
            expected["params"][p] = {
                "grad_mean": t.grad.mean().item(), "grad_std": t.grad.std().item(),
                "data_mean": new.mean().item(), "data_std": new.std().item(),
                "grad_to_data": (t.grad.std() / new.std()).item(),
                "update_to_data": ((LR * t.grad).std() / new.std()).log10().item(),
            }
    # Lets the test check its generator before comparing statistics.
    check = {"W1_first": params["W1"].flatten()[:3].tolist(), "W1_sum": params["W1"].sum().item()}
    return {"name": name, "model": "models/mlp_original.net", "seed": seed, "scales": scales, "lr": LR,
            "saturation": SATURATION, "x": x, "y": y, "generator_check": check, "expected": expected}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    args = ap.parse_args()
    cases = [
        # The lecture's first model: plain randn everywhere. Most outputs saturated, no unit dead.
        case("stats_original", 2147483647, {}),
        # A hidden layer started ten times larger: units dead for the whole batch appear by index.
        case("stats_w1x10", 2147483647, {"W1": 10.0}),
    ]
    for c in cases:
        path = os.path.join(args.out, c["name"] + ".json")
        with open(path, "w") as f:
            json.dump(c, f, indent=1)
            f.write("\n")
        h = c["expected"]["h"]
        print(f"{path}: loss {c['expected']['loss']:.4f}, {100 * h['beyond99'] / (N * H):.1f}% beyond 0.99, "
              f"{len(h['dead'])} dead")


if __name__ == "__main__":
    main()
