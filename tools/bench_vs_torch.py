#!/usr/bin/python3
"""netc against PyTorch on the same model and batch, in one run: `netc bench` and tools/bench_torch.py take
turns for several rounds, so a change in the machine's speed (other processes, other virtual machines on the
same host) reaches both sides alike, and the ratio is of figures taken minutes apart at most.

    /usr/bin/python3 tools/bench_vs_torch.py --batch 32,256 --rounds 3

Prints one line per batch size: the median over rounds of each side's median step time, the best min, their
ratios, and the share of this core's FMA peak (measured by `netc bench` in the same run) that netc's step
reaches. The defaults are models/mlp_kaiming.net and the lecture MLP in bench_torch.py (T=3, E=10, H=200).
A dev tool: needs Debian's python3-torch and libopenblas0-openmp; nothing in the build depends on it.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench_vs_torch.py: {' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    # Without OpenBLAS, PyTorch falls back on Debian's reference BLAS, several times slower: the ratios would
    # flatter netc, so none are printed (a fresh Debian machine has python3-torch's reference BLAS only).
    if "OpenBLAS is not the BLAS in use" in p.stderr:
        sys.exit("bench_vs_torch.py: PyTorch is not running on OpenBLAS; install it first "
                 "(apt-get install libopenblas0-openmp)")
    return p.stdout


def number(pattern, text, what):
    m = re.search(pattern, text)
    if not m:
        sys.exit(f"bench_vs_torch.py: no {what} in:\n{text}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", default=os.path.join(ROOT, "build", "compiler", "netc"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "mlp_kaiming.net"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "names.txt"))
    ap.add_argument("--batch", default="32,256", help="comma-separated batch sizes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for both sides: netc bench --threads N, PyTorch's intra-op and BLAS threads")
    ap.add_argument("--torch-script", default="bench_torch.py",
                    help="the PyTorch side, in tools/ (bench_torch_recurrent.py for models/rnn.net and gru.net)")
    ap.add_argument("--torch-args", default="", help="extra arguments for the PyTorch side (e.g. the model's widths)")
    args = ap.parse_args()
    print(f"{args.model} vs PyTorch eager (tools/{args.torch_script}), {args.threads} thread(s) each, {args.rounds} alternating rounds "
          f"of {args.steps} steps")
    print(f"{'batch':>5}  {'netc median (min)':>20}  {'PyTorch median (min)':>22}  {'ratio of medians (mins)':>24}  "
          f"{'netc % of FMA peak':>18}")
    for batch in [int(b) for b in args.batch.split(",")]:
        netc, torch, share, mins = [], [], [], [[], []]
        for _ in range(args.rounds):
            out = run([args.netc, "bench", args.model, "--batch", str(batch), "--steps", str(args.steps),
                       "--data", args.data, "--threads", str(args.threads)])
            netc.append(number(r"median ([0-9.]+) us, min", out, "netc median"))
            mins[0].append(number(r"us, min ([0-9.]+)", out, "netc min"))
            share.append(number(r"runs at ([0-9.]+)% of it \(median\)", out, "share of peak"))
            out = run(["/usr/bin/python3", os.path.join(HERE, args.torch_script), "--batch", str(batch),
                       "--steps", str(args.steps), "--data", args.data, "--threads", str(args.threads)]
                      + args.torch_args.split())
            torch.append(number(r"median ([0-9.]+) us/step", out, "PyTorch median"))
            mins[1].append(number(r"us/step, min ([0-9.]+)", out, "PyTorch min"))
        n, t = statistics.median(netc), statistics.median(torch)
        nm, tm = min(mins[0]), min(mins[1])
        print(f"{batch:>5}  {f'{n:.1f} us ({nm:.1f})':>20}  {f'{t:.1f} us ({tm:.1f})':>22}  "
              f"{f'{t / n:.1f}x ({tm / nm:.1f}x)':>24}  {f'{statistics.median(share):.0f}%':>18}", flush=True)


if __name__ == "__main__":
    main()
