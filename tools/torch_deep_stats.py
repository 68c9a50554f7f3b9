#!/usr/bin/python3
"""Per-layer statistics of the lecture's deep tanh network (makemore part 3, the section before BatchNorm) as
PyTorch computes them, written as fixtures for tests/deep_stats_test.cpp, which runs `netc grad --stats` on
models/deep_tanh.net (interpreter and JIT) and compares.

The network, the parameters and the batch are the lecture's, drawn in the lecture's order from
torch.Generator().manual_seed(2147483647): C [27, 10], then six Linear layers (weight = randn(fan_in,
fan_out) / fan_in**0.5, bias zeros), then `ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)`, the first
minibatch of the training loop, from the lecture's split of names.txt (random.seed(42), shuffle, first 80%).
Then, under torch.no_grad(), the last weight *= 0.1 and every other weight *= gain, in float32 as the lecture
(a float32 multiply by float32(gain): `w *= gain` on a float32 tensor rounds the gain to float32 first).

Precision: the weights are the lecture's float32 values; the expected statistics are computed in float64 from
exactly those values, so netc's interpreter (double precision, same float32 weights) agrees to rounding and
the JIT (float32) to float32 accuracy. The lecture's own float32 forward pass gives the same saturated counts
(the script checks) and is what the printed lecture lines use.

Writes, under tests/fixtures/deep/ (about 200 KB):
  weights.safetensors   C, W1, b1, ..., W6, b6 (F32) at gain 1, i.e. before `*= gain`; the weights at gain g
                        are W1..W5 times float32(g) in float32 (W6 and C do not depend on the gain)
  batch.safetensors     x [32, 3] and y [32] (I64): the lecture's first minibatch
  expected.json         per gain: the loss, for h1..h5 the output mean/std, pre-activation std, saturated share
                        (|h| > 0.97), share beyond 0.99, d loss / d h mean and std, and for every rank-2
                        parameter grad std, data std and grad:data; plus checksums of the scaled weights
  calibration.json      no netc test: the same stack without tanh (gains 5/3 and 1), and a ReLU layer with
                        half of its units dead for the whole batch, for setting the diagnoses' thresholds

Usage: /usr/bin/python3 tools/torch_deep_stats.py [--data ../shared/data/names.txt] [--out tests/fixtures/deep]
"""
import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import save_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEED = 2147483647
N_EMBD, BLOCK, N_HIDDEN, VOCAB, BATCH = 10, 3, 100, 27, 32
SATURATION, BEYOND = 0.97, 0.99
GAINS = [("5/3", 5 / 3), ("1", 1.0), ("3", 3.0), ("0.5", 0.5)]
# What the lecture prints at gain 5/3 (its "layer N (Tanh): ... saturated: X%" lines).
LECTURE_SATURATION = ["20.25", "8.38", "6.62", "5.47", "6.12"]
RELU_UNITS, RELU_W_SCALE, RELU_B_SCALE, RELU_W2_SCALE = 200, 5.0, 1000.0, 1e-4


def lecture_split(path):
    """The lecture's Xtr, Ytr: context of BLOCK indices ('.' = 0), shuffled words, the first 80%."""
    words = open(path, "r").read().splitlines()
    chars = sorted(list(set("".join(words))))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    assert len(stoi) == VOCAB, f"{path}: {len(stoi)} symbols, expected {VOCAB}"
    random.seed(42)
    random.shuffle(words)
    n1 = int(0.8 * len(words))
    X, Y = [], []
    for w in words[:n1]:
        context = [0] * BLOCK
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X), torch.tensor(Y)


def lecture_draws(Xtr, Ytr):
    """C, the six Linear weights before the gain (W6 already times 0.1) and the first minibatch, all in the
    lecture's order from its generator."""
    g = torch.Generator().manual_seed(SEED)
    C = torch.randn((VOCAB, N_EMBD), generator=g)
    sizes = [(N_EMBD * BLOCK, N_HIDDEN)] + [(N_HIDDEN, N_HIDDEN)] * 4 + [(N_HIDDEN, VOCAB)]
    Ws = [torch.randn((fi, fo), generator=g) / fi**0.5 for fi, fo in sizes]
    with torch.no_grad():
        Ws[-1] *= 0.1
    ix = torch.randint(0, Xtr.shape[0], (BATCH,), generator=g)
    return C, Ws, Xtr[ix], Ytr[ix]


def scaled(Ws, gain):
    """The lecture's `layer.weight *= gain` for every Linear but the last, in float32."""
    out = [w.clone() for w in Ws]
    with torch.no_grad():
        for w in out[:-1]:
            w *= gain
    return out


def forward(C, Ws, Xb, Yb, act, dtype):
    """The lecture's loop body: returns the loss, [(pre, out)] per hidden layer (grads retained) and the leaves."""
    leaves = [C.detach().to(dtype).clone().requires_grad_()]
    for w in Ws:
        leaves += [w.detach().to(dtype).clone().requires_grad_(), torch.zeros(w.shape[1], dtype=dtype, requires_grad=True)]
    x = leaves[0][Xb].view(Xb.shape[0], -1)
    layers = []
    for i in range(len(Ws)):
        x = x @ leaves[1 + 2 * i] + leaves[2 + 2 * i]
        if i < len(Ws) - 1:
            pre = x
            x = act(x) if act else x
            x.retain_grad()
            layers.append((pre, x))
    loss = F.cross_entropy(x, Yb)
    loss.backward()
    return loss, layers, leaves


def names(n_w):
    out = ["C"]
    for i in range(1, n_w + 1):
        out += [f"W{i}", f"b{i}"]
    return out


def layer_record(name, pre, out):
    h, p, gr = out.detach(), pre.detach(), out.grad
    n = h.numel()
    return {
        "name": name,
        "mean": h.mean().item(), "std": h.std().item(), "pre_std": p.std().item(),
        "saturated": int((h.abs() > SATURATION).sum()), "saturated_share": int((h.abs() > SATURATION).sum()) / n,
        "beyond99": int((h.abs() > BEYOND).sum()), "beyond99_share": int((h.abs() > BEYOND).sum()) / n,
        "grad_mean": gr.mean().item(), "grad_std": gr.std().item(),
        # How close the closest output is to the threshold: float32 rounding cannot move a count when this is
        # far above float32's epsilon.
        "margin": (h.abs() - SATURATION).abs().min().item(),
        "margin99": (h.abs() - BEYOND).abs().min().item(),
    }


def param_records(leaves, n_w):
    out = []
    for name, p in zip(names(n_w), leaves):
        if p.ndim != 2:
            continue
        out.append({"name": name, "grad_mean": p.grad.mean().item(), "grad_std": p.grad.std().item(),
                    "data_std": p.detach().std().item(), "grad_to_data": (p.grad.std() / p.detach().std()).item()})
    return out


def tanh_case(label, gain, C, Ws, Xb, Yb):
    W = scaled(Ws, gain)
    loss, layers, leaves = forward(C, W, Xb, Yb, torch.tanh, torch.float64)
    rec = {"gain_text": label, "gain": gain, "loss": loss.item(),
           "layers": [layer_record(f"h{i}", pre, out) for i, (pre, out) in enumerate(layers, 1)],
           "params": param_records(leaves, len(W)),
           # The test derives these weights from weights.safetensors and checks them against this first.
           "weight_check": {f"W{i}": {"sum": w.double().sum().item(), "first": w.flatten()[:3].tolist()}
                            for i, w in enumerate(W, 1)}}
    # The lecture's own float32 pass: the same counts, statistics within float32 rounding.
    loss32, layers32, _ = forward(C, W, Xb, Yb, torch.tanh, torch.float32)
    for r, (pre, out) in zip(rec["layers"], layers32):
        h = out.detach()
        assert int((h.abs() > SATURATION).sum()) == r["saturated"], (label, r["name"], "float32 count differs")
        assert int((h.abs() > BEYOND).sum()) == r["beyond99"], (label, r["name"], "float32 count differs")
        r["std_f32"] = h.std().item()
        r["grad_std_f32"] = out.grad.std().item()
    rec["loss_f32"] = loss32.item()
    return rec


def linear_case(label, gain, C, Ws, Xb, Yb):
    W = scaled(Ws, gain)
    loss, layers, leaves = forward(C, W, Xb, Yb, None, torch.float64)
    return {"gain_text": label, "gain": gain, "loss": loss.item(),
            "layers": [{"name": f"l{i}", "std": o.detach().std().item(), "mean": o.detach().mean().item(),
                        "grad_mean": o.grad.mean().item(), "grad_std": o.grad.std().item()}
                       for i, (_, o) in enumerate(layers, 1)],
            "params": param_records(leaves, len(W))}


def relu_case(Xb, Yb, b_scale=RELU_B_SCALE):
    """relu(flatten(C[x]) @ W1 + b1) with W1 = randn * 5 and b1 = randn * b_scale, then W2 = randn * 1e-4 (logits near 0, so the start is otherwise unremarkable),
    b2 = 0: a unit whose bias is far below what the weights can add is zero for every example (dead)."""
    g = torch.Generator().manual_seed(SEED)
    C = torch.randn((VOCAB, N_EMBD), generator=g, dtype=torch.float64).requires_grad_()
    W1 = (torch.randn((N_EMBD * BLOCK, RELU_UNITS), generator=g, dtype=torch.float64) * RELU_W_SCALE).requires_grad_()
    b1 = (torch.randn(RELU_UNITS, generator=g, dtype=torch.float64) * b_scale).requires_grad_()
    W2 = (torch.randn((RELU_UNITS, VOCAB), generator=g, dtype=torch.float64) * RELU_W2_SCALE).requires_grad_()
    b2 = torch.zeros(VOCAB, dtype=torch.float64, requires_grad=True)
    pre = C[Xb].view(Xb.shape[0], -1) @ W1 + b1
    h = torch.relu(pre)
    h.retain_grad()
    loss = F.cross_entropy(h @ W2 + b2, Yb)
    loss.backward()
    hd = h.detach()
    dead = (hd == 0).all(dim=0)
    return {"units": RELU_UNITS, "w1_scale": RELU_W_SCALE, "b1_scale": b_scale, "w2_scale": RELU_W2_SCALE, "loss": loss.item(),
            "layer": {"name": "h", "mean": hd.mean().item(), "std": hd.std().item(), "pre_std": pre.detach().std().item(),
                      "zero_share": (hd == 0).double().mean().item(), "dead_units": int(dead.sum()),
                      "dead": dead.nonzero().flatten().tolist(),
                      "grad_mean": h.grad.mean().item(), "grad_std": h.grad.std().item()},
            "params": [{"name": n, "grad_std": p.grad.std().item(), "data_std": p.detach().std().item(),
                        "grad_to_data": (p.grad.std() / p.detach().std()).item()}
                       for n, p in [("C", C), ("W1", W1), ("W2", W2)]]}


def print_tanh(rec):
    print(f"gain {rec['gain_text']}: loss {rec['loss']:.4f}")
    for r in rec["layers"]:  # the lecture's forward-pass lines, then its own columns
        print(f"  layer {r['name'][1:]} (Tanh): mean {r['mean']:+.2f}, std {r['std']:.2f}, "
              f"saturated: {100 * r['saturated_share']:.2f}%")
    for r in rec["layers"]:  # the lecture's gradient lines
        print(f"  layer {r['name'][1:]} (Tanh): grad mean {r['grad_mean']:+f}, std {r['grad_std']:e}")
    print("  layer  out std  pre std  sat>0.97  >0.99    grad std   margins (0.97, 0.99)")
    for r in rec["layers"]:
        print(f"  {r['name']:5} {r['std']:8.4f} {r['pre_std']:8.4f} {100 * r['saturated_share']:8.2f}% "
              f"{100 * r['beyond99_share']:6.2f}%  {r['grad_std']:.4e}  {r['margin']:.1e} {r['margin99']:.1e}")
    print("  param   grad std     data std    grad:data")
    for p in rec["params"]:
        print(f"  {p['name']:5} {p['grad_std']:.4e}  {p['data_std']:.4e}  {p['grad_to_data']:.4e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.path.join(ROOT, "..", "shared", "data", "names.txt")
    if not os.path.exists(default_data):
        default_data = os.path.join(ROOT, "data", "names.txt")
    ap.add_argument("--data", default=default_data, help="names.txt (the lecture's 32,033 names)")
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "deep"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    Xtr, Ytr = lecture_split(args.data)
    C, Ws, Xb, Yb = lecture_draws(Xtr, Ytr)
    print(f"{args.data}: Xtr {tuple(Xtr.shape)}; first minibatch x[0] = {Xb[0].tolist()}, y[:4] = {Yb[:4].tolist()}")

    base = {"C": C}
    for i, w in enumerate(Ws, 1):
        base[f"W{i}"], base[f"b{i}"] = w, torch.zeros(w.shape[1])
    save_safetensors(os.path.join(args.out, "weights.safetensors"), base)
    save_safetensors(os.path.join(args.out, "batch.safetensors"), {"x": Xb, "y": Yb})

    cases = [tanh_case(label, gain, C, Ws, Xb, Yb) for label, gain in GAINS]
    for rec in cases:
        print_tanh(rec)
    got = [f"{100 * r['saturated_share']:.2f}" for r in cases[0]["layers"]]
    assert got == LECTURE_SATURATION, f"gain 5/3 saturation {got}, the lecture printed {LECTURE_SATURATION}"
    print("gain 5/3 reproduces the lecture's saturation: " + ", ".join(g + "%" for g in got))

    expected = {
        "generated_by": "tools/torch_deep_stats.py",
        "model": "models/deep_tanh.net",
        "weights": "weights.safetensors (gain 1: W1..W5 times float32(gain), in float32, give the other gains)",
        "batch": "batch.safetensors",
        "precision": "float64 from the float32 weights",
        "saturation": SATURATION,
        "lecture_saturation_percent": LECTURE_SATURATION,
        "gains": cases,
    }
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")

    linear = [linear_case(label, gain, C, Ws, Xb, Yb) for label, gain in [("5/3", 5 / 3), ("1", 1.0)]]
    for rec in linear:
        print(f"linear only, gain {rec['gain_text']}: loss {rec['loss']:.4f}")
        print("  layer  out std    grad std")
        for r in rec["layers"]:
            print(f"  {r['name']:5} {r['std']:8.4f}  {r['grad_std']:.4e}")
        print("  param   grad std     data std    grad:data")
        for p in rec["params"]:
            print(f"  {p['name']:5} {p['grad_std']:.4e}  {p['data_std']:.4e}  {p['grad_to_data']:.4e}")
    relu = relu_case(Xb, Yb)
    r = relu["layer"]
    print(f"relu, W1 = randn * {RELU_W_SCALE:g}, b1 = randn * {RELU_B_SCALE:g}: loss {relu['loss']:.4f}, "
          f"out std {r['std']:.3f}, pre std {r['pre_std']:.3f}, zero share {100 * r['zero_share']:.2f}%, "
          f"{r['dead_units']}/{RELU_UNITS} units zero for every example, grad std {r['grad_std']:.4e}")
    for p in relu["params"]:
        print(f"  {p['name']:5} {p['grad_std']:.4e}  {p['data_std']:.4e}  {p['grad_to_data']:.4e}")
    with open(os.path.join(args.out, "calibration.json"), "w") as f:
        json.dump({"generated_by": "tools/torch_deep_stats.py", "precision": "float64",
                   "linear_only": linear, "relu": relu}, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}/weights.safetensors, batch.safetensors, expected.json, calibration.json")


if __name__ == "__main__":
    main()
