#!/usr/bin/python3
"""Runs Karpathy's makemore.py unchanged (https://github.com/karpathy/makemore, a copy given by path, not
committed here) with a stand-in for torch.utils.tensorboard's SummaryWriter, which Debian's python3-torch lacks,
and prints makemore.py's own output: every 500 steps `step N train loss: ... test loss: ...`, its held-out
loss (the mean of 10 batches of 100 test words, which with names.txt's 1000 test words is the whole test set).

Usage: nice -n 19 /usr/bin/python3 tools/makemore_py.py PATH/makemore.py -i names.txt -o OUTDIR --type mlp \\
           --max-steps 50001 --num-workers 0
(`--max-steps 50001` reaches the evaluation at step 50,000; `--num-workers 0` loads the batches in the main
process, the same batches as makemore.py's default of 4 workers: the sampler runs in the main process either way.)
"""
import runpy
import sys
import types


class SummaryWriter:
    def __init__(self, *args, **kwargs):
        pass

    def add_scalar(self, *args, **kwargs):
        pass

    def flush(self):
        pass


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    stub = types.ModuleType("torch.utils.tensorboard")
    stub.SummaryWriter = SummaryWriter
    sys.modules["torch.utils.tensorboard"] = stub
    script = sys.argv[1]
    sys.argv = [script] + sys.argv[2:]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
