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

// Initialises every param and state in declaration order from their initialisers (init_program.h), drawing
// from netc's generator seeded with `seed`, and the declarations marked `global` from a second one seeded with
// `globalSeed` (the train section's global_seed; without one, seed + 2: lowering requires global_seed of a model
// that marks any, so only tests and random weights for gradient checks take this).
WeightMap initParams(const Graph& g, uint64_t seed, std::optional<uint64_t> globalSeed = {});

// The same from PyTorch's generator, as a script that declares the tensors in this order would: each
// initialiser's draws from `gen`, or from `global` for the declarations marked `global` (a script's
// torch.manual_seed default generator beside its named one), then its arithmetic in float32. Both are left
// after their last draw: `gen` is where the lecture's minibatches start.
WeightMap initParams(const Graph& g, TorchGenerator& gen, TorchGenerator& global);

// The train section's generator: netc's own from `seed`, or torch's seeded with `seed`, whose state after
// the initialisation goes to `afterInit` when given; `globalSeed` seeds the second stream.
WeightMap initParams(const Graph& g, uint64_t seed, Generator kind, std::optional<TorchGenerator>* afterInit = nullptr,
                     std::optional<uint64_t> globalSeed = {});

// `t * by` or `t / by` for each step, in float32 with `by` rounded to float first, as PyTorch multiplies a
// float tensor by a Python number.
void applySteps(std::span<float> values, const std::vector<InitStep>& steps);

}  // namespace netc
