// Moving named tensors in and out of an engine, with the checks that make a mismatched file a clear error.
#pragma once
#include "interp/engine.h"
#include "runtime/data/named_tensor.h"

namespace netc {

// Writes every parameter and state of the graph from `w`; a missing name, an extra name (a tensor named like a
// non-parameter value of the model included), a wrong shape or a non-finite value is an error that names the
// tensor, the file (`what`), and both shapes or the first bad element. Optimizer state ("W1.exp_avg") may be
// absent (it keeps its initial value; the names are returned) or extra (a graph without that optimizer
// ignores it).
std::vector<std::string> loadParams(Engine& e, const WeightMap& w, const std::string& what);
// The first non-finite value of a parameter or state of `g` in `w` as an error naming `what`, the tensor and
// the element.
void requireFinite(const Graph& g, const WeightMap& w, const std::string& what);
// Reads every parameter and state back.
WeightMap readParams(Engine& e);
// Writes an input tensor (indices or floats) by its .net name, checking the shape.
void loadInput(Engine& e, const std::string& name, const NamedTensor& t, const std::string& what);

}  // namespace netc
