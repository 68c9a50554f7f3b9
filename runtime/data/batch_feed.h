// A batch given as named tensors (the model's inputs by their .net names, e.g. x and y from a safetensors
// file): its batch size, the checks that keep bad indices away from an engine, and random batches for tests.
#pragma once
#include <cstdint>
#include <string>

#include "interp/engine.h"
#include "runtime/data/named_tensor.h"

namespace netc {

// The exclusive upper bound of an int input's values: the rows of the tables it indexes and the classes of
// the cross-entropies it targets (the smallest of them). -1 when nothing bounds it.
int64_t indexBound(const Graph& g, int input);

// The batch size B that the tensors in `batch` give the graph's inputs (graph not yet bound). Every input the
// graph declares must be present with the declared rank and fixed dimensions, and all agree on B; a missing,
// extra or misshapen tensor is an error naming it and `what` (the file). 1 when no input has B.
int64_t batchSizeOf(const Graph& g, const WeightMap& batch, const std::string& what);

// Writes every input of the engine's (bound) graph from `batch`; int inputs must hold whole numbers in
// [0, indexBound). `skip` names an input fed elsewhere (the learning rate of a training graph).
void feedBatch(Engine& e, const WeightMap& batch, const std::string& what, int skip = -1);

// A batch for the bound graph `g`: uniformly random valid indices for int inputs, standard normal floats for
// float inputs (except `skip`).
WeightMap randomBatch(const Graph& g, uint64_t seed, int skip = -1);

}  // namespace netc
