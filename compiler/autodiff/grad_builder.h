// What a gradient rule sees: a builder that appends backward nodes to the graph, tagged with the
// forward node they differentiate (and so its source line).
#pragma once
#include <map>

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
  // The forward matrix products reading `v` as their right operand, in graph order (a weight read at every
  // step of an unrolled loop: T of them).
  const std::vector<int>& productsReading(int v);
  // The transpose of `v` as one node, made the first time it is asked for and shared by every later use, so
  // the T input-gradient products of a loop's weight read one W^T instead of each transposing W on its own.
  // It is printed with the first product reading `v` (its gradOf), as part of the loop's first step.
  int transposeOf(int v);

 private:
  Graph& g_;
  const std::vector<bool>& needs_;
  int current_ = -1;
  std::map<int, int> transposes_;  // value -> its shared transpose
  std::map<int, std::vector<int>> readers_;  // value -> the forward products reading it as B
  bool readersBuilt_ = false;
};

}  // namespace netc
