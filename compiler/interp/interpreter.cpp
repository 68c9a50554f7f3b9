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
    if (n.op->cls != OpDef::Source && !n.op->eval) fail(fmt::format("internal error: op '{}' cannot run (a mode node left unspecialised?)", n.op->name));
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
    if (n.op->cls == OpDef::Source && !isConst(n)) continue;
    ins.clear();
    for (int i : n.inputs) ins.push_back(&values_[i]);
    Tensor& out = values_[n.id];
    out.shape = n.shape;
    n.op->eval(n, ins, out);
  }
  // Every update read the values the step started with; now they all become the next step's values.
  for (const Node& n : g_.nodes)
    if (int target = assignTarget(n); target >= 0) values_[target].data = values_[n.id].data;
}

}  // namespace netc
