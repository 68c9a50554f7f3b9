#!/usr/bin/python3
"""Pinned values of the random streams netc reproduces (tests/streams_test.cpp):

  tests/fixtures/streams/torch_avx2.txt     PyTorch's CPU generator with its AVX2 normal kernel (x86-64)
  tests/fixtures/streams/torch_default.txt  the same with ATEN_CPU_CAPABILITY=default (the scalar kernel that
                                            PyTorch uses without AVX2, e.g. on ARM)
  tests/fixtures/streams/python.txt         CPython's random.seed(s); random.shuffle(list(range(n)))
  tests/fixtures/streams/torch_inits.net    a model whose initialisers are expressions of draws, some from the
  tests/fixtures/streams/torch_inits.txt    second (`global`) stream, and the values PyTorch gives them: the
                                            same expressions evaluated by PyTorch, nn.Linear and nn.Embedding
                                            built after torch.manual_seed(global_seed)

A torch file is a list of sequences. `seed S` starts one: g = torch.Generator().manual_seed(S). Then each
draw is a line `randn N` (torch.randn(N, generator=g), float32; optionally followed by `mul X` / `div X`
steps, each `t = t * X` / `t = t / X` with a Python float, as the lecture scales its weights), `uniform N A B`
(torch.empty(N).uniform_(A, B, generator=g), as nn.Linear and nn.init.uniform_ draw), `normal N MEAN STD`
(torch.empty(N).normal_(MEAN, STD, generator=g), nn.init.normal_) or `randint N COUNT` (torch.randint(0, N,
(COUNT,), generator=g)), and the next line holds the values: float32 bit patterns in hex, or integers. A tensor above 300 elements is pinned by its first 32 values and `| FNV`, the 64-bit
FNV-1a hash of all its float32 values' little-endian bytes, in hex (the files stay small). A python line is `shuffle SEED N HEAD...`: the first elements of the shuffled range(N),
then `| SUM` with sum((i + 1) * p[i]) over the whole permutation.

Usage: /usr/bin/python3 tools/torch_streams.py [--out tests/fixtures/streams]
"""
import argparse
import os
import random
import subprocess
import sys

LECTURE = 2147483647

# (seed, [draw...]); a draw is ("randn", n, [(op, x)...]) or ("randint", n, count).
SEQUENCES = [
    # The lecture's MLP: C, W1, b1, W2, b2, then minibatches (182625 training examples).
    (LECTURE, [("randn", 270, []), ("randn", 6000, []), ("randn", 200, []), ("randn", 5400, []), ("randn", 27, []),
               ("randint", 182625, 32), ("randint", 182625, 32), ("randint", 182625, 32)]),
    # The pinned start of the brief: randn(27, 10), randn(5), randint.
    (LECTURE, [("randn", 270, []), ("randn", 5, []), ("randint", 182625, 32)]),
    # Its Kaiming and BatchNorm variants, scaled as the lecture writes them.
    (LECTURE, [("randn", 270, []), ("randn", 6000, [("mul", 5 / 3), ("div", 30 ** 0.5)]),
               ("randn", 200, [("mul", 0.01)]), ("randn", 5400, [("mul", 0.01)]), ("randn", 27, [("mul", 0)]),
               ("randint", 182625, 32)]),
    # Every size class of the normal kernel: < 16 (per element, with the cached second value carried from
    # one call to the next, odd counts included), exactly 16, a tail of 1 and of 15, multiples of 16.
    (1, [("randn", 1, []), ("randn", 1, []), ("randn", 5, []), ("randn", 15, []), ("randn", 16, []),
         ("randn", 17, []), ("randn", 3, []), ("randn", 31, []), ("randn", 32, []), ("randn", 200, []),
         ("randn", 7, []), ("randint", 27, 5), ("randn", 1, []), ("randn", 33, [])]),
    # randint interleaved with randn, a range of 1, and a range of 2^33 (random64).
    (42, [("randint", 10, 7), ("randn", 2, []), ("randint", 1, 3), ("randn", 47, []), ("randint", 2 ** 33, 4),
          ("randn", 9, []), ("randint", 1000003, 5), ("randn", 1, [])]),
    # Seeds above 32 bits use the low 32 (and 0 works).
    (2 ** 32 + 7, [("randn", 20, []), ("randint", 100, 4)]),
    (7, [("randn", 20, []), ("randint", 100, 4)]),
    (0, [("randn", 18, []), ("randn", 4, []), ("randint", 5, 6)]),
    # uniform_ (one random() per element, x * (to - from) + from in float: an FMA in the AVX2 build) with bounds
    # that round, nn.Linear's for fan_in 1024, 64 and 30, and small sizes; normal_ with a mean and std on every
    # size class (the kernel applies them inside, fused in the AVX2 kernel, in double below 16 elements).
    (2147483647, [("uniform", 3000, -0.3, 0.7), ("uniform", 1000, 0.1, 0.7), ("uniform", 5, -1 / 1024 ** 0.5, 1 / 1024 ** 0.5),
                  ("uniform", 64, -1 / 64 ** 0.5, 1 / 64 ** 0.5), ("uniform", 300, -1 / 30 ** 0.5, 1 / 30 ** 0.5),
                  ("randn", 3, []), ("normal", 3, 0.5, 0.2), ("uniform", 1, 1.3, 7.1), ("normal", 1, -1.7, 0.37),
                  ("normal", 16, 0.5, 0.2), ("normal", 1000, -1.7, 0.37), ("normal", 17, 0, 0.02),
                  ("randint", 27, 4), ("normal", 7, 3, 0)]),
]

# The last two: seeds past 2^63, up to netc's largest (2^64 - 1), whose two 32-bit key words CPython keeps.
SHUFFLES = [(42, 1), (42, 2), (42, 10), (0, 37), (2 ** 40 + 5, 100), (42, 32033), (7, 1000), (2 ** 63, 50),
            (2 ** 64 - 1, 50)]


# tests/fixtures/streams/torch_inits.net: initialisers written as expressions, and the PyTorch code that
# draws the same values. (kind, names, shape, .net initialiser, PyTorch) in declaration order; `g` is the
# named generator (train.seed), the rest draw from the global one, seeded by torch.manual_seed(global_seed)
# and marked `global` in the model. "linear" is nn.Linear(fan_in, fan_out) (weight [out, in], then bias),
# "embedding" nn.Embedding(n, d): their own default initialisations, with no generator argument.
INIT_SEED, INIT_GLOBAL_SEED = 2147483647, 42
INITS = [
    ("param", "C", (27, 10), "randn", "torch.randn((27, 10), generator=g)"),
    ("global", "bngain", (1, 64), "randn * 0.1 + 1", "torch.randn((1, 64)) * 0.1 + 1.0"),
    ("param", "W1", (30, 64), "randn * (5/3) / sqrt(30)", "torch.randn((30, 64), generator=g) * (5/3) / 30**0.5"),
    ("global", "bnbias", (1, 64), "randn * 0.1", "torch.randn((1, 64)) * 0.1"),
    ("linear", ("L1", "l1"), (30, 27), "uniform(-1 / sqrt(30), 1 / sqrt(30))", None),
    ("param", "b1", (64,), "uniform(-1 / sqrt(30), 1 / sqrt(30))", "torch.empty(64).uniform_(-1 / 30**0.5, 1 / 30**0.5, generator=g)"),
    ("embedding", "wte", (28, 8), "randn", None),
    ("param", "n1", (5,), "normal(0.5, 0.2)", "torch.empty(5).normal_(0.5, 0.2, generator=g)"),
    ("param", "n2", (40, 3), "normal(-1, 0.02) * 2 + 0.5", "torch.empty(40, 3).normal_(-1, 0.02, generator=g) * 2 + 0.5"),
    ("param", "e1", (33,), "1 - randn * 0.5", "1 - torch.randn(33, generator=g) * 0.5"),
    ("param", "e2", (7, 3), "(randn + uniform(0, 1)) / 2", "(torch.randn((7, 3), generator=g) + torch.empty(7, 3).uniform_(0, 1, generator=g)) / 2"),
    ("param", "e3", (50,), "-randn * 3 + 0.25", "-torch.randn(50, generator=g) * 3 + 0.25"),
    ("param", "e4", (4, 4), "2 * normal(1, 2) - ones", "2 * torch.empty(4, 4).normal_(1, 2, generator=g) - torch.ones(4, 4)"),
    ("param", "e5", (6,), "zeros + 0.1", "torch.zeros(6) + 0.1"),
    ("param", "e6", (20,), "ones * 0.3 - uniform(-1, 1) * randn", "torch.ones(20) * 0.3 - torch.empty(20).uniform_(-1, 1, generator=g) * torch.randn(20, generator=g)"),
    ("state", "s1", (3,), "normal(0, 1)", "torch.empty(3).normal_(0, 1, generator=g)"),
    ("globalstate", "s2", (17,), "uniform(-2, 2) / 3", "torch.empty(17).uniform_(-2, 2) / 3"),
]


def inits_files(net_path, txt_path):
    import torch
    g = torch.Generator().manual_seed(INIT_SEED)
    torch.manual_seed(INIT_GLOBAL_SEED)
    decls, values = [], []
    for kind, names, shape, net, py in INITS:
        dims = ", ".join(map(str, shape))
        if kind == "linear":
            fan_in, fan_out = shape
            lin = torch.nn.Linear(fan_in, fan_out)
            decls.append(f"param {names[0]} : [{fan_out}, {fan_in}] = {net} global   # nn.Linear({fan_in}, {fan_out}).weight")
            decls.append(f"param {names[1]} : [{fan_out}] = {net} global   # its bias")
            values += [(names[0], lin.weight.detach()), (names[1], lin.bias.detach())]
        elif kind == "embedding":
            emb = torch.nn.Embedding(*shape)
            decls.append(f"param {names} : [{dims}] = {net} global   # nn.Embedding({shape[0]}, {shape[1]}).weight")
            values.append((names, emb.weight.detach()))
        else:
            word = "state" if "state" in kind else "param"
            marker = " global" if kind.startswith("global") else ""
            decls.append(f"{word} {names} : [{dims}] = {net}{marker}   # {py}")
            values.append((names, eval(py)))
    model = f"""# Written by tools/torch_streams.py: initialisers as expressions of draws, from the named generator (train.seed)
# and the global one (global_seed); tests/streams_test.cpp compares netc init's values with torch_inits.txt.
data "../../data/pseudo_words.txt" {{
  context = 3
}}
input x : int[B, T]
input y : int[B]
{chr(10).join(decls)}
logits = flatten(C[x]) @ transpose(L1) + l1
loss = cross_entropy(logits, y)
minimize loss
train {{
  generator = torch
  seed = {INIT_SEED}
  global_seed = {INIT_GLOBAL_SEED}
}}
"""
    lines = [f"# torch {torch.__version__}: written by tools/torch_streams.py"]
    for name, t in values:
        lines.append(f"{name} {t.numel()}")
        lines.append(hex_values(t))
    with open(txt_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(net_path, "w") as f:
        f.write(model)


def fnv1a(words):
    h = 0xcbf29ce484222325
    for w in words:
        for byte in w.to_bytes(4, "little"):
            h = ((h ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return h


def hex_values(t):
    """A float32 tensor's bit patterns in hex; above 300 values the first 32 and `| FNV` of all of them."""
    import torch
    b = [v & 0xffffffff for v in t.reshape(-1).contiguous().view(torch.int32).tolist()]
    vals = " ".join(f"{v:08x}" for v in (b if len(b) <= 300 else b[:32]))
    return vals if len(b) <= 300 else f"{vals} | {fnv1a(b):016x}"


def torch_file(path):
    import torch
    cap = "default" if os.environ.get("ATEN_CPU_CAPABILITY") == "default" else "avx2"
    lines = [f"# torch {torch.__version__}, normal kernel {cap}: written by tools/torch_streams.py"]
    for seed, draws in SEQUENCES:
        g = torch.Generator().manual_seed(seed)
        lines.append(f"seed {seed}")
        for d in draws:
            if d[0] == "randn":
                _, n, ops = d
                t = torch.randn(n, generator=g)
                for op, x in ops:
                    t = t * x if op == "mul" else t / x
                lines.append(" ".join([f"randn {n}"] + [f"{op} {x!r}" for op, x in ops]))
                lines.append(hex_values(t))
            elif d[0] in ("uniform", "normal"):
                kind, n, a, b = d
                t = torch.empty(n)
                t = t.uniform_(a, b, generator=g) if kind == "uniform" else t.normal_(a, b, generator=g)
                lines.append(f"{kind} {n} {a!r} {b!r}")
                lines.append(hex_values(t))
            else:
                _, n, count = d
                lines.append(f"randint {n} {count}")
                lines.append(" ".join(str(v) for v in torch.randint(0, n, (count,), generator=g).tolist()))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def python_file(path):
    lines = [f"# CPython {sys.version.split()[0]}: written by tools/torch_streams.py"]
    for seed, n in SHUFFLES:
        random.seed(seed)
        p = list(range(n))
        random.shuffle(p)
        head = p[:20]
        lines.append(f"shuffle {seed} {n} " + " ".join(map(str, head)) + f" | {sum((i + 1) * v for i, v in enumerate(p))}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "streams"))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # the child run under ATEN_CPU_CAPABILITY=default
    a = ap.parse_args()
    if a.one:
        torch_file(a.one)
        return
    os.makedirs(a.out, exist_ok=True)
    torch_file(os.path.join(a.out, "torch_avx2.txt"))
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    subprocess.run([sys.executable, __file__, "--one", os.path.join(a.out, "torch_default.txt")], env=env, check=True)
    python_file(os.path.join(a.out, "python.txt"))
    inits_files(os.path.join(a.out, "torch_inits.net"), os.path.join(a.out, "torch_inits.txt"))


if __name__ == "__main__":
    main()
