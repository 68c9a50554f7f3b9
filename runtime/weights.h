// Moving named tensors in and out of an engine, with the checks that make a mismatched file a clear error.
#pragma once
#include "interp/engine.h"
#include "runtime/init.h"

namespace netc {

// Writes every parameter of the graph from `w`; a missing name, an extra name (a tensor named like a
// non-parameter value of the model included), a wrong shape or a non-finite value is an error that names the
// tensor, the file (`what`), and both shapes or the first bad element.
void loadParams(Engine& e, const WeightMap& w, const std::string& what);
// The first non-finite value of a parameter of `g` in `w` as an error naming `what`, the tensor and the element.
void requireFinite(const Graph& g, const WeightMap& w, const std::string& what);
// Reads every parameter back.
WeightMap readParams(Engine& e);
// Writes an input tensor (indices or floats) by its .net name, checking the shape.
void loadInput(Engine& e, const std::string& name, const NamedTensor& t, const std::string& what);

}  // namespace netc
