#include "interp/interpreter.h"

#include <fmt/format.h>

#include "support/sizes.h"

namespace netc {

Interpreter::Interpreter(Graph bound) : g_(std::move(bound)), values_(g_.size()) {
  // One double per element of every value, counted before anything is allocated.
  int64_t bytes = 0;
  for (const Node& n : g_.nodes)
    if (!hasBatch(n.shape)) bytes = checkedAdd(bytes, checkedMul(numel(n.shape), 8, "a value"), "the interpreter's values");
  checkFitsInMemory(bytes, "the interpreter's values", ": use a smaller batch size or smaller layers");
  for (const Node& n : g_.nodes) {
    if (hasBatch(n.shape)) fail("internal error: the interpreter needs a graph with the batch size bound");
    values_[n.id].shape = n.shape;
    values_[n.id].data.assign(numel(n.shape), 0.0);
  }
}

void Interpreter::write(int node, std::span<const double> v) {
  Tensor& t = values_.at(node);
  if (v.size() != t.data.size())
    fail(fmt::format("cannot write {} values into {} of shape {}", v.size(), g_.valueName(node), shapeStr(t.shape)));
  t.data.assign(v.begin(), v.end());
}

void Interpreter::writeIndices(int node, std::span<const int32_t> v) {
  std::vector<double> d(v.begin(), v.end());
  write(node, d);
}

void Interpreter::run() {
  std::vector<const Tensor*> ins;
  for (const Node& n : g_.nodes) {
    if (n.op->cls == OpDef::Source && n.op->name != std::string_view("const")) continue;
    ins.clear();
    for (int i : n.inputs) ins.push_back(&values_[i]);
    Tensor& out = values_[n.id];
    out.shape = n.shape;
    n.op->eval(n, ins, out);
  }
  // The update phase's results become the parameters of the next step.
  for (const Node& n : g_.nodes)
    if (n.op->name == std::string_view("sgd")) values_[n.inputs[0]].data = values_[n.id].data;
}

}  // namespace netc
