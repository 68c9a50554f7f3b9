// Which kernels the thread team shares and where its threads must wait for each other.
//
// Kernels are shared in two ways. An op whose CPU kernel sharesRows (codegen/kernels/cpu_kernels.cpp: the
// matrix products, the embedding's gather) is split by rows of its result: each thread computes its own rows
// of C (and of the fused epilogue, which is elementwise over C), so no two threads write the same element. An
// op whose result sums over many rows (a weight or bias gradient's sum over the batch, the loss, the
// embedding's scatter; CpuKernel::partialBytes says where that pays) shares the rows summed instead: each
// thread sums its share into a partial result of its own, then, after a barrier inside the kernel, the threads
// add the partials up in thread order (Kernel::sumSplit). Each thread then reads only batch rows it computed
// itself. Either way nothing depends on timing, and a run is the same on every repeat. Everything else
// (BatchNorm's statistics, small updates) runs on thread 0.
//
// A barrier is placed before a kernel when it touches memory that a kernel since the last barrier touched
// on another thread: it reads what that one wrote, or writes what that one read or wrote (an in-place
// update of a weight another product still reads). Kernels both on thread 0 run in order anyway, and each
// thread's scratch space is its own, so neither needs one.
#include <algorithm>
#include <thread>

#include "codegen/kernels/cpu_kernels.h"
#include "codegen/kernels/gemm.h"
#include "codegen/plan.h"
#include "ops/op.h"

namespace netc::codegen {

namespace {

struct Access {
  std::vector<int> reads, writes;  // storage nodes
};

// What the kernel's nodes `nodes` read from outside the kernel and write.
Access accessOf(const Graph& g, const Plan& p, const std::vector<int>& nodes, int index) {
  Access a;
  auto add = [&](std::vector<int>& to, int node) {
    int s = p.storage[node];
    if (s >= 0 && std::find(to.begin(), to.end(), s) == to.end()) to.push_back(s);
  };
  for (int v : nodes) {
    for (int in : g[v].inputs)
      if (p.kernelOf[in] != index) add(a.reads, in);
    add(a.writes, v);
  }
  return a;
}

bool meets(const std::vector<int>& x, const std::vector<int>& y) {
  for (int v : x)
    if (std::find(y.begin(), y.end(), v) != y.end()) return true;
  return false;
}

int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

void planTeam(const Graph& g, Plan& p, int threads) {
  p.threads = threads;
  std::vector<Access> since;  // kernels (or a split sum's second phase) since the last barrier
  std::vector<bool> sinceSplit;
  for (size_t i = 0; i < p.kernels.size(); ++i) {
    Kernel& k = p.kernels[i];
    const int index = static_cast<int>(i);
    const CpuKernel* op = k.kind == Kernel::Op ? findCpuKernel(*g[k.root].op) : nullptr;
    const int64_t partial = op && op->partialBytes ? op->partialBytes(g, g[k.root], threads) : 0;
    k.sumSplit = partial > 0;
    k.split = k.sumSplit || (op && op->sharesRows);
    k.barrier = false;
    // A split sum's first phase reads the root's (and partners') inputs and writes only the partners'
    // results (its partial sums are the thread's own); the second, after the barrier inside the kernel,
    // writes the root's results and the epilogue's, reading what the epilogue reads.
    Access first = accessOf(g, p, k.nodes(), index), second;
    if (k.sumSplit) {
      std::vector<int> rows = k.partners;
      rows.insert(rows.begin(), k.root);
      first = accessOf(g, p, rows, index);
      first.writes = accessOf(g, p, k.partners, index).writes;
      std::vector<int> totals = k.members;
      totals.insert(totals.begin(), k.root);
      second = accessOf(g, p, totals, index);
      second.reads = accessOf(g, p, k.members, index).reads;
    }
    for (size_t j = 0; j < since.size() && !k.barrier; ++j) {
      if (!k.split && !sinceSplit[j]) continue;  // both on thread 0
      k.barrier = meets(since[j].writes, first.reads) || meets(since[j].writes, first.writes) ||
                  meets(since[j].reads, first.writes);
    }
    if (k.barrier || k.sumSplit) since.clear(), sinceSplit.clear();
    since.push_back(std::move(k.sumSplit ? second : first));
    sinceSplit.push_back(k.split);
    if (k.sumSplit) {
      // Partial sums live after everything else, one region per kernel: the next kernels may start while
      // another thread is still adding this one's partials up.
      k.partialStride = roundUp(partial + kTailSlack, kArenaAlign);
      k.partialOffset = roundUp(p.arenaBytes, kArenaAlign);
      p.arenaBytes = k.partialOffset + k.partialStride * threads;
    }
  }
}

}  // namespace netc::codegen

namespace netc::codegen {

double productFlops(const Graph& g) {
  double f = 0;
  for (const Node& n : g.nodes)
    if (n.op->matrixProduct) f += matmulFlops(g, n);
  return f;
}

namespace {

// Measured with netc bench on mlp_kaiming (README, Performance; a 2-core Zen 4 guest, with the sums over the
// batch split): two threads break even at batch 32 (2.2 MFLOP: 28-31 us against 31 on one thread), gain 1.16x
// at 48 (3.3), 1.3x at 64 (4.4) and 1.5x at 128 (8.8); below about this much product work a step is too short
// for a second thread to pay for its barriers and the kernels it cannot share. Above it the adaptive team
// (team.h) still measures whether the team pays (deep_batchnorm's BatchNorm loops run on thread 0).
constexpr double kTeamMinFlops = 3e6;

}  // namespace

int chooseThreads(const Graph& bound, int requested) {
  if (requested > 0) return std::min(requested, kMaxThreads);
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const double flops = productFlops(bound);
  int t = 1;
  while (t < hw && t < kMaxThreads && flops >= kTeamMinFlops * t) ++t;
  return t;
}

}  // namespace netc::codegen
