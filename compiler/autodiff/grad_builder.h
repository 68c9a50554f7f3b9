// What a gradient rule sees: a builder that appends backward nodes to the graph, tagged with the
// forward node they differentiate (and so its source line).
#pragma once
#include "graph/graph.h"

namespace netc {

class GradBuilder {
 public:
  GradBuilder(Graph& g, const std::vector<bool>& needsGrad) : g_(g), needs_(needsGrad) {}

  const Graph& graph() const { return g_; }
  const Node& node(int id) const { return g_[id]; }
  // Whether input `i` of the node being differentiated wants a gradient (skip work otherwise).
  bool needs(const Node& n, int i) const { return needs_[n.inputs[i]]; }

  void setCurrent(int forwardNode) { current_ = forwardNode; }
  // Appends a backward node for the op `name`; shapes are inferred immediately.
  int op(std::string_view name, std::vector<int> inputs, Attrs attrs = {});
  int constant(double v);
  int add(int a, int b) { return op("add", {a, b}); }
  int sub(int a, int b) { return op("sub", {a, b}); }
  int mul(int a, int b) { return op("mul", {a, b}); }
  int div(int a, int b) { return op("div", {a, b}); }
  int neg(int a) { return op("neg", {a}); }

 private:
  Graph& g_;
  const std::vector<bool>& needs_;
  int current_ = -1;
};

}  // namespace netc
