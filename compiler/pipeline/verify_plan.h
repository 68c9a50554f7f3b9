// The verifiers of the code passes' output (the graph passes' is graph.h verify). They throw netc::Error
// saying what is wrong; the pipeline adds which pass it followed.
#pragma once
#include "codegen/layout.h"
#include "codegen/plan.h"
#include "graph/graph.h"

namespace netc::pipeline {

// After layout: `code` is `bound` with only the layout's changes: the same nodes, ops, dtypes and inputs (a
// product may swap its operands), every transposed value 2-D with its dimensions swapped, every other value
// its declared shape.
void verifyLayout(const Graph& bound, const Graph& code, const codegen::Layout& layout);

// After plan, on the graph it planned:
// - kernels and kernelOf agree, and kernels run in an order where every value a kernel reads from memory was
//   written by an earlier kernel of the step, or is an input, parameter, state or constant (alive across
//   steps);
// - every value read outside its kernel, and every value the runtime reads after the step (named values, the
//   loss, probes), has storage inside the arena;
// - two values whose lifetimes in the step overlap never share bytes (a buffer reused for a later temporary,
//   an update in place, the scratch space, the team's partial sums and the profile counters included).
void verifyPlan(const Graph& g, const codegen::Plan& p);

}  // namespace netc::pipeline
