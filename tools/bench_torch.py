#!/usr/bin/python3
"""The lecture MLP's training step in PyTorch eager mode, timed like `netc bench`: the reference point for the
compiled step. One thread, OpenBLAS (not Debian's reference BLAS), and the lecture's loop: sample a minibatch of
(context, target) examples, forward, cross-entropy, zero grads, backward, SGD update.

    /usr/bin/python3 tools/bench_torch.py --data ../shared/data/names.txt --batch 32

The defaults are models/mlp_kaiming.net (T=3, E=10, one hidden layer of 200, Kaiming init); --hidden 128,96,64
--context 4 --emb 12 gives models/mlp_deep.net. A dev tool only: nothing in the build depends on it.
"""
import argparse
import os
import statistics
import sys
import time

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def ensure_single_threaded_openblas(threads=1):
    """Re-executes with the environment pinned before torch (and its BLAS) is loaded: LD_LIBRARY_PATH must be
    set when the process starts to decide which libblas.so.3 the dynamic linker picks. `threads` for OpenMP
    and OpenBLAS alike (1 by default: the single-threaded comparison)."""
    n = str(threads)
    want = {"LD_LIBRARY_PATH": OPENBLAS_DIR, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}
    if os.environ.get("NETC_BENCH_TORCH_PINNED") == "1":
        return
    env = dict(os.environ)
    paths = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p]
    env["LD_LIBRARY_PATH"] = ":".join([OPENBLAS_DIR] + [p for p in paths if p != OPENBLAS_DIR])
    for k, v in want.items():
        if k != "LD_LIBRARY_PATH":
            env[k] = v
    env["NETC_BENCH_TORCH_PINNED"] = "1"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def loaded_blas():
    """The BLAS libraries actually mapped into this process (after torch did a matrix product)."""
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if "blas" in os.path.basename(path) or "mkl" in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return sorted(libs)


def time_steps(step, warmup, steps):
    """Runs `step` warmup times untimed, then `steps` times timed; the sorted step times in seconds."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times


def print_setup(torch):
    """The line saying what ran: PyTorch's version, threads and the BLAS actually mapped (warns if not OpenBLAS)."""
    blas = loaded_blas()
    print(f"pytorch {torch.__version__} eager, {torch.get_num_threads()} thread, BLAS: {', '.join(blas) or 'none mapped'}")
    if not any("openblas" in b for b in blas):
        print("warning: OpenBLAS is not the BLAS in use; install libopenblas0-openmp", file=sys.stderr)


def timing_text(times):
    """"median M us/step, min N, p90 P" of sorted step times, as `bench_vs_torch.py` reads it."""
    med = statistics.median(times)
    return (f"median {med * 1e6:.1f} us/step, min {times[0] * 1e6:.1f}, "
            f"p90 {times[int(0.9 * len(times))] * 1e6:.1f}")


def build_examples(words, stoi, context):
    xs, ys = [], []
    for w in words:
        ctx = [0] * context
        for ch in w + ".":
            ix = stoi[ch]
            xs.append(ctx)
            ys.append(ix)
            ctx = ctx[1:] + [ix]
    return xs, ys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "names.txt"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=2000, help="timed steps (after --warmup)")
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--emb", type=int, default=10)
    ap.add_argument("--hidden", default="200", help="comma-separated hidden layer widths")
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--batchnorm", action="store_true",
                    help="the lecture's deep BatchNorm net: Linear without bias, BatchNorm1d, tanh per layer, and a "
                         "BatchNorm1d after the output layer (models/deep_batchnorm.net with --hidden 100,100,100,100,100)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads and the BLAS's threads")
    args = ap.parse_args()
    if args.batch < 1 or args.steps < 1:
        sys.exit("bench_torch.py: --batch and --steps must be at least 1")

    ensure_single_threaded_openblas(args.threads)
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    try:
        words = [w.strip() for w in open(args.data) if w.strip()]
    except OSError as e:
        sys.exit(f"bench_torch.py: cannot read the dataset: {e}")
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    V = len(stoi)
    xs, ys = build_examples(words, stoi, args.context)
    X, Y = torch.tensor(xs), torch.tensor(ys)

    # The lecture's model, Kaiming-initialised tanh layers and a small output layer; with --batchnorm, the deep
    # BatchNorm net of part 3 (F.batch_norm with running statistics, momentum 0.1, eps 1e-5).
    g = torch.Generator().manual_seed(2147483647)
    widths = [int(h) for h in args.hidden.split(",")]
    C = torch.randn((V, args.emb), generator=g)
    layers, norms = [], []
    fan_in = args.context * args.emb

    def norm(width, gain=1.0):
        return [torch.ones(width) * gain, torch.zeros(width), torch.zeros(width), torch.ones(width)]

    for h in widths:
        if args.batchnorm:
            layers.append((torch.randn((fan_in, h), generator=g) / fan_in ** 0.5, None))
            norms.append(norm(h))
        else:
            layers.append((torch.randn((fan_in, h), generator=g) * (5 / 3) / fan_in ** 0.5,
                           torch.randn(h, generator=g) * 0.01))
        fan_in = h
    if args.batchnorm:
        Wo, bo = torch.randn((fan_in, V), generator=g) / fan_in ** 0.5, None
        norms.append(norm(V, 0.1))
    else:
        Wo, bo = torch.randn((fan_in, V), generator=g) * 0.01, torch.zeros(V)
    params = [t for t in [C, Wo, bo] + [t for layer in layers for t in layer] if t is not None]
    params += [t for n in norms for t in n[:2]]
    for p in params:
        p.requires_grad = True

    def normed(x, i):
        gamma, beta, mean, var = norms[i]
        return F.batch_norm(x, mean, var, gamma, beta, training=True, momentum=0.1, eps=1e-5)

    def step():
        ix = torch.randint(0, X.shape[0], (args.batch,), generator=g)
        emb = C[X[ix]]
        h = emb.view(emb.shape[0], -1)
        for i, (W, b) in enumerate(layers):
            h = torch.tanh(normed(h @ W, i) if args.batchnorm else h @ W + b)
        logits = normed(h @ Wo, len(layers)) if args.batchnorm else h @ Wo + bo
        loss = F.cross_entropy(logits, Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p += -args.lr * p.grad
        return loss

    times = time_steps(step, args.warmup, args.steps)
    print_setup(torch)
    flops = 0
    fan_in = args.context * args.emb
    for h in widths + [V]:
        flops += 3 * 2 * args.batch * fan_in * h  # forward product and its two gradient products
        fan_in = h
    print(f"batch {args.batch}, {args.steps} steps after {args.warmup} warm-up: {timing_text(times)}; "
          f"{flops / statistics.median(times) / 1e9:.2f} GFLOP/s (matmul FLOPs)")


if __name__ == "__main__":
    main()
