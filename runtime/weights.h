// Moving named tensors in and out of an engine, with the checks that make a mismatched file a clear error.
#pragma once
#include "interp/engine.h"
#include "runtime/init.h"

namespace netc {

// Writes every parameter and state of the graph from `w`; a missing name, an extra name or a wrong shape is an
// error that names the tensor, the file (`what`) and both shapes. Optimizer state ("W1.m") may be absent (it
// keeps its initial value; the names are returned) or extra (a graph without that optimizer ignores it).
std::vector<std::string> loadParams(Engine& e, const WeightMap& w, const std::string& what);
// Reads every parameter and state back.
WeightMap readParams(Engine& e);
// Writes an input tensor (indices or floats) by its .net name, checking the shape.
void loadInput(Engine& e, const std::string& name, const NamedTensor& t, const std::string& what);

}  // namespace netc
