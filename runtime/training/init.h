// Parameter initialisation from the initialisers written in the .net file.
#pragma once
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "lower/model.h"
#include "runtime/data/named_tensor.h"
#include "runtime/random/torch_generator.h"

namespace netc {

// Initialises every param and state in declaration order, drawing from one seeded generator.
WeightMap initParams(const Graph& g, uint64_t seed);

// The same from PyTorch's generator, as a script that declares the tensors in this order would:
// `torch.randn(shape, generator=g)` then each of the initialiser's steps in float32 for randn, and
// `torch.zeros` / `torch.ones` (which draw nothing) times the steps for zeros and ones. `gen` is left after
// the last draw, where the lecture's minibatches start. uniform has no torch form (lowering refuses it).
WeightMap initParams(const Graph& g, TorchGenerator& gen);

// The train section's generator: netc's own from `seed`, or torch's seeded with `seed`, whose state after
// the initialisation goes to `afterInit` when given.
WeightMap initParams(const Graph& g, uint64_t seed, Generator kind, std::optional<TorchGenerator>* afterInit = nullptr);

// `t * by` or `t / by` for each step, in float32 with `by` rounded to float first, as PyTorch multiplies a
// float tensor by a Python number.
void applySteps(std::span<float> values, const std::vector<InitStep>& steps);

}  // namespace netc
