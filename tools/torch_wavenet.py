#!/usr/bin/python3
"""makemore part 5's WaveNet in PyTorch, with the notebook's own classes, for netc's models/wavenet.net.

The classes below are copied unchanged from nn-zero-to-hero, lectures/makemore/makemore_part5_cnn1.ipynb (cell
"Near copy paste of the layers we have developed in Part 3"). Two uses:

  fixture  a small WaveNet of the same structure (n_embd 5, n_hidden 6, block 8, batch 8) built exactly as the
           notebook builds its model (torch.manual_seed(42), the layers' draws in order, the last weight * 0.1),
           run once in float64 on a random batch; writes under tests/fixtures/:
             torch_wavenet.net                  the model in netc's language (data: ../data/pseudo_words.txt)
             torch_wavenet_weights.safetensors  parameters and running statistics, F32, named as the layers' list
                                                indexes them (layers.2.weight, layers.3.gamma, ...)
             torch_wavenet_batch.safetensors    x [B, 8], y [B] as I64
             torch_wavenet_expected.safetensors every parameter's gradient (F32) and the loss (F64, "loss")
  train    the notebook's training (names.txt, random.seed(42) shuffle, block 8, n_embd 24, n_hidden 128, SGD 0.1
           then 0.01 from 150,000, batch 32 from the global generator) printing its log lines every 10,000 steps
           and the final train / val losses: `--steps N` stops early, `--time` prints the seconds per step.

Usage: /usr/bin/python3 tools/torch_wavenet.py fixture [--out tests/fixtures]
       /usr/bin/python3 tools/torch_wavenet.py train --data ../shared/data/names.txt [--steps 200000]
"""
import argparse
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import save_safetensors  # noqa: E402


# ---- the notebook's classes, unchanged ----
class Linear:

  def __init__(self, fan_in, fan_out, bias=True):
    self.weight = torch.randn((fan_in, fan_out)) / fan_in**0.5 # note: kaiming init
    self.bias = torch.zeros(fan_out) if bias else None

  def __call__(self, x):
    self.out = x @ self.weight
    if self.bias is not None:
      self.out += self.bias
    return self.out

  def parameters(self):
    return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:

  def __init__(self, dim, eps=1e-5, momentum=0.1):
    self.eps = eps
    self.momentum = momentum
    self.training = True
    # parameters (trained with backprop)
    self.gamma = torch.ones(dim)
    self.beta = torch.zeros(dim)
    # buffers (trained with a running 'momentum update')
    self.running_mean = torch.zeros(dim)
    self.running_var = torch.ones(dim)

  def __call__(self, x):
    # calculate the forward pass
    if self.training:
      if x.ndim == 2:
        dim = 0
      elif x.ndim == 3:
        dim = (0,1)
      xmean = x.mean(dim, keepdim=True) # batch mean
      xvar = x.var(dim, keepdim=True) # batch variance
    else:
      xmean = self.running_mean
      xvar = self.running_var
    xhat = (x - xmean) / torch.sqrt(xvar + self.eps) # normalize to unit variance
    self.out = self.gamma * xhat + self.beta
    # update the buffers
    if self.training:
      with torch.no_grad():
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * xmean
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * xvar
    return self.out

  def parameters(self):
    return [self.gamma, self.beta]


class Tanh:
  def __call__(self, x):
    self.out = torch.tanh(x)
    return self.out
  def parameters(self):
    return []


class Embedding:

  def __init__(self, num_embeddings, embedding_dim):
    self.weight = torch.randn((num_embeddings, embedding_dim))

  def __call__(self, IX):
    self.out = self.weight[IX]
    return self.out

  def parameters(self):
    return [self.weight]


class FlattenConsecutive:

  def __init__(self, n):
    self.n = n

  def __call__(self, x):
    B, T, C = x.shape
    x = x.view(B, T//self.n, C*self.n)
    if x.shape[1] == 1:
      x = x.squeeze(1)
    self.out = x
    return self.out

  def parameters(self):
    return []


class Sequential:

  def __init__(self, layers):
    self.layers = layers

  def __call__(self, x):
    for layer in self.layers:
      x = layer(x)
    self.out = x
    return self.out

  def parameters(self):
    # get parameters of all layers and stretch them out into one list
    return [p for layer in self.layers for p in layer.parameters()]
# ---- end of the notebook's classes ----


def build_model(vocab_size, n_embd, n_hidden):
    """The notebook's cells 8 and 9: the seed, the hierarchical network, the last layer's weight * 0.1."""
    torch.manual_seed(42); # seed rng for reproducibility
    model = Sequential([
      Embedding(vocab_size, n_embd),
      FlattenConsecutive(2), Linear(n_embd * 2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
      FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
      FlattenConsecutive(2), Linear(n_hidden*2, n_hidden, bias=False), BatchNorm1d(n_hidden), Tanh(),
      Linear(n_hidden, vocab_size),
    ])
    with torch.no_grad():
      model.layers[-1].weight *= 0.1 # last layer make less confident
    return model


def named_tensors(model):
    """Every parameter and buffer under the name its place in the layers' list gives it (layers.3.gamma)."""
    out = {}
    for i, layer in enumerate(model.layers):
        for attr in ("weight", "bias", "gamma", "beta", "running_mean", "running_var"):
            t = getattr(layer, attr, None)
            if t is not None:
                out[f"layers.{i}.{attr}"] = t
    return out


NET_TEXT = """# Generated by tools/torch_wavenet.py: makemore part 5's WaveNet at small widths (n_embd {E}, n_hidden {H}),
# named as the notebook's layers list indexes its layers, for the PyTorch cross-check.

data "../data/pseudo_words.txt" {{
  context = 8
}}

const E = {E}
const H = {H}

input x : int[B, T]
input y : int[B]

block Embedding(ix, n, d) {{
  param weight : [n, d] = randn
  return weight[ix]
}}

block Linear(x, fan_in, fan_out) {{
  param weight : [fan_in, fan_out] = randn / sqrt(fan_in)
  return x @ weight
}}

block OutputLinear(x, fan_in, fan_out) {{   # Linear(n_hidden, vocab_size), its weight * 0.1 after the draw
  param weight : [fan_in, fan_out] = randn / sqrt(fan_in) * 0.1
  param bias : [fan_out] = zeros
  return x @ weight + bias
}}

block BatchNorm1d(x, dim) {{
  param gamma : [dim] = ones
  param beta : [dim] = zeros
  state running_mean : [dim] = zeros
  state running_var : [dim] = ones
  return batchnorm(x, gamma, beta, running_mean, running_var, eps=1e-5, momentum=0.1, correction=1)
}}

e = Embedding(x, V, E) as layers.0
h1 = tanh(BatchNorm1d(Linear(reshape(e, [B, 4, 2*E]), 2*E, H) as layers.2, H) as layers.3)
h2 = tanh(BatchNorm1d(Linear(reshape(h1, [B, 2, 2*H]), 2*H, H) as layers.6, H) as layers.7)
h3 = tanh(BatchNorm1d(Linear(reshape(h2, [B, 2*H]), 2*H, H) as layers.10, H) as layers.11)
logits = OutputLinear(h3, H, V) as layers.13
loss = cross_entropy(logits, y)
minimize loss
"""


def fixture(out_dir):
    E, H, B, T, V = 5, 6, 8, 8, 27
    model = build_model(V, E, H)
    tensors = named_tensors(model)
    weights = {k: t.detach().clone() for k, t in tensors.items()}
    # Run in float64 from exactly the float32 values netc reads.
    for layer in model.layers:
        for attr in ("weight", "bias", "gamma", "beta", "running_mean", "running_var"):
            t = getattr(layer, attr, None)
            if t is not None:
                setattr(layer, attr, t.detach().double().requires_grad_(attr not in ("running_mean", "running_var")))
    g = torch.Generator().manual_seed(5)
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B,), generator=g)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    expected = {"loss": loss.detach().reshape(())}
    for k, t in named_tensors(model).items():
        if t.grad is not None:
            expected[k] = t.grad.float()
    base = os.path.join(out_dir, "torch_wavenet")
    with open(base + ".net", "w") as f:
        f.write(NET_TEXT.format(E=E, H=H))
    save_safetensors(base + "_weights.safetensors", weights)
    save_safetensors(base + "_batch.safetensors", {"x": x, "y": y})
    save_safetensors(base + "_expected.safetensors", expected)
    print(f"{base}: loss {loss.item():.9f}, {sum(t.numel() for t in model.parameters())} parameters")


def train(data, steps, show_time):
    # The notebook's cells 2 to 5, 8 to 10 and 12 to 13.
    words = open(data, 'r').read().splitlines()
    chars = sorted(list(set(''.join(words))))
    stoi = {s:i+1 for i,s in enumerate(chars)}
    stoi['.'] = 0
    vocab_size = len(stoi)
    random.seed(42)
    random.shuffle(words)
    block_size = 8

    def build_dataset(words):
      X, Y = [], []
      for w in words:
        context = [0] * block_size
        for ch in w + '.':
          ix = stoi[ch]
          X.append(context)
          Y.append(ix)
          context = context[1:] + [ix] # crop and append
      return torch.tensor(X), torch.tensor(Y)

    n1 = int(0.8*len(words))
    n2 = int(0.9*len(words))
    Xtr,  Ytr  = build_dataset(words[:n1])
    Xdev, Ydev = build_dataset(words[n1:n2])
    model = build_model(vocab_size, 24, 128)
    parameters = model.parameters()
    print(sum(p.nelement() for p in parameters))
    for p in parameters:
      p.requires_grad = True
    batch_size = 32
    start = time.perf_counter()
    for i in range(steps):
      ix = torch.randint(0, Xtr.shape[0], (batch_size,))
      Xb, Yb = Xtr[ix], Ytr[ix] # batch X,Y
      logits = model(Xb)
      loss = F.cross_entropy(logits, Yb) # loss function
      for p in parameters:
        p.grad = None
      loss.backward()
      lr = 0.1 if i < 150000 else 0.01 # step learning rate decay
      for p in parameters:
        p.data += -lr * p.grad
      if i % 10000 == 0: # print every once in a while
        print(f'{i:7d}/{steps:7d}: {loss.item():.4f}', flush=True)
    if show_time:
        print(f"{(time.perf_counter() - start) / steps * 1e6:.1f} us per step")
    for layer in model.layers:
      layer.training = False
    with torch.no_grad():
      for split, (x, y) in (("train", (Xtr, Ytr)), ("val", (Xdev, Ydev))):
        print(split, F.cross_entropy(model(x), y).item())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fixture")
    f.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures"))
    t = sub.add_parser("train")
    t.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "names.txt"))
    t.add_argument("--steps", type=int, default=200000)
    t.add_argument("--time", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.cmd == "fixture":
        fixture(args.out)
    else:
        train(args.data, args.steps, args.time)


if __name__ == "__main__":
    main()
