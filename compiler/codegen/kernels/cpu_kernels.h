// The CPU backend's table of kernels: for every Kernel-class op (OpDef::Kernel), the function emitting its loop
// nest and the two facts the thread schedule (team_plan.cpp) needs. The ops know nothing of it: a second
// backend would have a table of its own. One line per op in cpu_kernels.cpp; tests/codegen_kernels_test.cpp
// fails when a Kernel-class op has no line or a line names an op that is not one.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace netc {
class KernelEmitter;
struct OpDef;
}  // namespace netc

namespace netc::codegen {

struct CpuKernel {
  const char* op;  // the op's registered name (OpDef::name)
  // Emits the loop nest computing the node into its output buffer. Null only for an op that never reaches a
  // kernel of its own, with the reason in `noKernel`.
  void (*emit)(KernelEmitter& k, const Node& node) = nullptr;
  // For ops whose results are sums over many rows (a weight gradient's sum over the batch): the bytes of one
  // thread's partial result when a team of `threads` should split that sum between its threads, 0 when it
  // should not (too few rows to share, or results too many to add up again). Where it is > 0 the plan may mark
  // the kernel Kernel::sumSplit, and `emit` then writes both phases (KernelEmitter::splitSum).
  int64_t (*partialBytes)(const Graph& g, const Node& node, int threads) = nullptr;
  // `emit` computes only the calling thread's share of its rows when a team splits the kernel
  // (KernelEmitter::forRowShares): the team then runs it on every thread (Kernel::split).
  bool sharesRows = false;
  // Why an op has no kernel (a view, a node removed before code generation); null for every op with one.
  const char* noKernel = nullptr;
};

// Every line of the table, in its order.
const std::vector<CpuKernel>& cpuKernels();
// The line of `op`, or null when the table has none (every op that is not Kernel-class).
const CpuKernel* findCpuKernel(const OpDef& op);
// Whether `op` has an emitter.
bool hasCpuKernel(const OpDef& op);
// The emitter of `op`; fails with an internal error when the op has none.
using KernelEmitFn = void (*)(KernelEmitter& k, const Node& node);
KernelEmitFn cpuKernelEmitter(const OpDef& op);

}  // namespace netc::codegen
