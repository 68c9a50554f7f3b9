#!/usr/bin/python3
"""Pinned values of the random streams netc reproduces (tests/streams_test.cpp):

  tests/fixtures/streams/torch_avx2.txt     PyTorch's CPU generator with its AVX2 normal kernel (x86-64)
  tests/fixtures/streams/torch_default.txt  the same with ATEN_CPU_CAPABILITY=default (the scalar kernel that
                                            PyTorch uses without AVX2, e.g. on ARM)
  tests/fixtures/streams/python.txt         CPython's random.seed(s); random.shuffle(list(range(n)))

A torch file is a list of sequences. `seed S` starts one: g = torch.Generator().manual_seed(S). Then each
draw is a line `randn N` (torch.randn(N, generator=g), float32; optionally followed by `mul X` / `div X`
steps, each `t = t * X` / `t = t / X` with a Python float, as the lecture scales its weights) or `randint N
COUNT` (torch.randint(0, N, (COUNT,), generator=g)), and the next line holds the values: float32 bit patterns
in hex, or integers. A tensor above 300 elements is pinned by its first 32 values and `| FNV`, the 64-bit
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
]

# The last two: seeds past 2^63, up to netc's largest (2^64 - 1), whose two 32-bit key words CPython keeps.
SHUFFLES = [(42, 1), (42, 2), (42, 10), (0, 37), (2 ** 40 + 5, 100), (42, 32033), (7, 1000), (2 ** 63, 50),
            (2 ** 64 - 1, 50)]


def fnv1a(words):
    h = 0xcbf29ce484222325
    for w in words:
        for byte in w.to_bytes(4, "little"):
            h = ((h ^ byte) * 0x100000001b3) & 0xffffffffffffffff
    return h


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
                b = [v & 0xffffffff for v in t.view(torch.int32).tolist()]
                vals = " ".join(f"{v:08x}" for v in (b if n <= 300 else b[:32]))
                lines.append(vals if n <= 300 else f"{vals} | {fnv1a(b):016x}")
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


if __name__ == "__main__":
    main()
