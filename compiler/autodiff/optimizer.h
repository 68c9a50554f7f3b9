// The optimizers: how a training graph turns each parameter's gradient into its next value. Their memory
// (momentum buffers, Adam's moments and step count) is ordinary state, created here for each parameter and
// updated by assign nodes like any state the model declares, so it is planned, fused, saved and printed the
// same way. Definitions follow torch.optim exactly (SGD, Adam, AdamW; weight decay as L2 for SGD and Adam,
// decoupled for AdamW).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace netc {

struct OptimizerSpec {
  enum Kind { Sgd, Momentum, Adam, AdamW } kind = Sgd;
  double momentum = 0.9;   // Momentum
  bool nesterov = false;   // Momentum
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // Adam, AdamW
  double weightDecay = 0;  // L2 (Sgd, Momentum, Adam) or decoupled (AdamW; torch's default there is 0.01)
  double clipNorm = 0;     // > 0: gradients scaled so their global L2 norm is at most this (torch's clip_grad_norm_)
};
const char* optimizerName(OptimizerSpec::Kind k);
std::string describeOptimizer(const OptimizerSpec& o);  // "adamw(betas=(0.9, 0.99), eps=1e-08, weight_decay=0.01)"

// The names of the state the optimizers keep: "<param>.<slot>" for a parameter's (momentum, exp_avg,
// exp_avg_sq), and Adam's one step count.
inline constexpr const char* kAdamStepState = "optimizer.step";
inline constexpr const char* kAdamSecondMomentSlot = ".exp_avg_sq";

// What is wrong with `values` as the optimizer state `name` read from a file (a resumed run's weights), or ""
// when nothing is: Adam's step count must be a whole number of steps, its second moments (running means of
// squared gradients) 0 or more. Finite is checked for every state where it is loaded.
std::string optimizerStateProblem(const std::string& name, const std::vector<double>& values);

// Appends the update of every parameter in `grads` (param -> gradient node) to g, using the scalar input `lr`.
// Returns param -> the node holding its next value (an sgd or assign node, written in place).
std::map<int, int> appendOptimizer(Graph& g, const std::map<int, int>& grads, int lr, const OptimizerSpec& o);

}  // namespace netc
