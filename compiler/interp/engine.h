// What every executor of a graph offers the driver: the reference interpreter and the JIT both.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "graph/graph.h"

namespace netc {

class Engine {
 public:
  virtual ~Engine() = default;
  // The concrete (batch-bound) graph this engine runs.
  virtual const Graph& graph() const = 0;
  // Parameters and inputs keep their values across run() calls; sgd nodes write back into their parameter.
  virtual void write(int node, std::span<const double> values) = 0;
  virtual void writeIndices(int node, std::span<const int32_t> values) = 0;
  virtual std::vector<double> read(int node) = 0;
  virtual double readScalar(int node) { return read(node).at(0); }
  virtual void run() = 0;
  // Threads running each step: a run's floats depend on it where the step splits sums over the batch
  // (codegen::Kernel::sumSplit), so a repeated run needs the same count.
  virtual int threads() const { return 1; }
};

// Which executor runs a graph: the reference interpreter (interp/) or the LLVM JIT (the CPU backend). The
// factory that builds either, makeEngine, is the backend's (engine/make_engine.h): the core cannot build a JIT.
enum class EngineKind { Interp, Jit };

}  // namespace netc
