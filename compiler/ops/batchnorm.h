// BatchNorm over the batch axis of [B, H] values, as the makemore lecture and torch.nn.BatchNorm1d define it.
// It is built from general ops and the two below (ops/batchnorm.cpp), by one function the lowering calls for
// `batchnorm(x, gamma, beta, running_mean, running_var, ...)`:
//   train form  y = gamma * bn_normalize(x, mean(x), rsqrt(var(x) + eps)) + beta
//   eval form   y = x * scale + shift, scale = gamma * rsqrt(running_var + eps), shift = beta - running_mean * scale
//   updates     running_mean = (1 - momentum) * running_mean + momentum * mean(x), and the same for the
//               running variance (or standard deviation) of the batch
// joined by a mode node: the eval form has no batch reduction left, and the train form's gradient is the fused
// formula of bn_normalize (two reductions and one elementwise pass), not the chain of primitives.
#pragma once
#include "graph/graph.h"

namespace netc {

struct BatchnormOptions {
  double eps = 1e-5;           // added to the variance before the square root (0: none, the lecture's first form)
  double momentum = 0.1;       // weight of the batch statistic in the running one (PyTorch's; Keras' 0.99 is 1 - it)
  double correction = 0;       // variance that normalises: 0 biased (torch), 1 unbiased (the lecture)
  double runningCorrection = 1;  // variance that is stored: torch stores the unbiased one
  bool runningStd = false;     // the state holds the standard deviation (the lecture's first form), not the variance
};

struct BatchnormArgs {
  int x = -1, gamma = -1, beta = -1, runningMean = -1, runningVar = -1;
};

// Appends the train form, the eval form, the updates and the mode node joining them; returns the mode node.
// Errors (shapes, running statistics that are not states) name `loc`.
int buildBatchnorm(Graph& g, const BatchnormArgs& a, const BatchnormOptions& o, SrcLoc loc, SrcSpan span);

}  // namespace netc
