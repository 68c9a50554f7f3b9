// One op = one OpDef, defined in one file under compiler/ops/ with its shape rule, gradient rule, reference
// implementation and (elementwise ops) its scalar expression as target-neutral LLVM IR, and listed once in
// registry.cpp. How a backend computes a Kernel-class op is the backend's: the CPU's loop nests are in
// codegen/kernels/, listed per op in codegen/kernels/cpu_kernels.cpp.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace llvm {
class Value;
class IRBuilderBase;
}  // namespace llvm

namespace netc {

// A dense tensor of the reference interpreter: doubles, row-major. Index tensors hold whole numbers.
struct Tensor {
  Shape shape;
  std::vector<double> data;
};

class GradBuilder;       // autodiff/grad_builder.h

struct OpDef {
  const char* name;
  const char* summary;      // one line for `netc help ops` and docs
  int minInputs, maxInputs;
  enum Class {
    Source,       // input, param, const: no computation
    Elementwise,  // out[i] = f(in0[bcast i], in1[bcast i], ...): fusable into loops
    Kernel,       // everything else: its own loop nest
  } cls;
  bool internal = false;               // made by the compiler only (gradients, updates); not callable from .net
  // Integer keyword arguments accepted from .net, stored in Attrs::ints in this order; except keepdim (the
  // lowering reshapes the result) and correction (stored in Attrs::value), which the lowering takes out.
  std::vector<std::string> keywords;
  bool takesShape = false;             // a trailing [dims] argument, stored in Attrs::shape
  const char* args = nullptr;          // tensor argument names for `netc help ops`; nullptr: x, or a, b
  // State update: the node's value becomes the value of input 0 (a param or state) for the next step. Every
  // engine gives all updates of a step the same semantics: each reads the values the step started with, and
  // the writes land together at its end (the JIT writes in place, after every other reader of the target).
  bool assigns = false;

  // Shape rule: sets node.dtype and node.shape from the inputs; throws via shapeError on mismatch.
  void (*infer)(const Graph& g, Node& node) = nullptr;
  // Gradient rule: dx[i] receives the gradient of input i (or stays -1). nullptr: op is not differentiable.
  void (*grad)(GradBuilder& b, const Node& node, int dy, std::vector<int>& dx) = nullptr;
  // Reference implementation, double precision, for the interpreter.
  void (*eval)(const Node& node, const std::vector<const Tensor*>& in, Tensor& out) = nullptr;
  // Elementwise ops: the scalar function (used by the generic broadcasting eval) ...
  double (*scalar)(const double* args) = nullptr;
  // ... and its LLVM counterpart on float (scalar or vector) values.
  llvm::Value* (*emitScalar)(llvm::IRBuilderBase& b, std::span<llvm::Value* const> args) = nullptr;
};

// The param or state a node writes for the next step (OpDef::assigns), -1 for every other node.
inline int assignTarget(const Node& n) { return n.op->assigns ? n.inputs.at(0) : -1; }

const OpDef* findOp(std::string_view name);
const std::vector<const OpDef*>& allOps();
// Throws "unknown op" with the nearest public op name.
const OpDef& getOp(std::string_view name);

// Shape errors name the node's source line and both operand shapes.
[[noreturn]] void shapeError(const Graph& g, const Node& n, const std::string& msg);

}  // namespace netc
