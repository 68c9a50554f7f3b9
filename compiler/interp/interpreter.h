// The reference interpreter: a deliberately plain walk over the graph in double precision, calling each
// op's reference implementation. It is the oracle every other backend is checked against.
#pragma once
#include "interp/engine.h"
#include "ops/op.h"

namespace netc {

class Interpreter final : public Engine {
 public:
  explicit Interpreter(Graph bound);
  const Graph& graph() const override { return g_; }
  void write(int node, std::span<const double> values) override;
  void writeIndices(int node, std::span<const int32_t> values) override;
  std::vector<double> read(int node) override { return values_.at(node).data; }
  void run() override;
  const Tensor& value(int node) const { return values_.at(node); }

 private:
  Graph g_;
  std::vector<Tensor> values_;
};

}  // namespace netc
