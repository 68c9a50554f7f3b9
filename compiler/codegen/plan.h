// Fusion and the static memory plan: which nodes run together in one loop nest ("kernel"), in what order,
// and where every stored value lives in the one arena. Everything here is decided before any LLVM IR exists,
// so `netc ir --stage fused` can show it and the tests can check it.
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace netc::codegen {

struct PlanOptions {
  bool fuse = true;  // false: one kernel per node (the simple baseline the tests compare against)
  bool profile = false;  // reserve one 64-bit tick counter per kernel (netc bench --kernels)
  // Threads of the team that runs each step (codegen/team.h): matrix products are split across it by rows,
  // every other kernel runs on thread 0, and barriers go where a kernel needs another thread's results.
  int threads = 1;
};

// One generated function. A Loop kernel is a fused group of elementwise nodes evaluated in registers over one
// iteration domain; an Op kernel is a kernel op (matmul, embedding, ...) whose elementwise consumers may be
// folded in as an epilogue applied to each result before it is stored.
struct Kernel {
  enum Kind { Loop, Op } kind = Loop;
  int root = -1;             // Op: the kernel node; Loop: -1
  std::vector<int> members;  // elementwise nodes, in graph order (Loop: the group; Op: the epilogue)
  // Op: further kernel nodes the root's generator computes in the same pass (cross_entropy_grad with the
  // cross_entropy of the same logits and targets: both need each row's max and exp-sum).
  std::vector<int> partners;
  Shape domain;              // the shape every member has (Op: the root's shape)
  std::string name;          // for the LLVM function and the printout
  std::vector<int> nodes() const;  // root (if any), partners, then members
  // With a team (PlanOptions::threads > 1): every thread computes a share of its rows (else thread 0 alone),
  // and all threads meet at a barrier before it starts (set by planTeam, codegen/team_plan.cpp).
  bool split = false, barrier = false;
  // With a team, for a split kernel whose op sums over rows (CpuKernel::partialBytes): the rows summed are shared
  // instead of the results. Every thread adds its share of them into a partial result of its own, at
  // partialOffset + thread * partialStride in the arena; then the threads meet at a barrier, and each adds
  // up every thread's partial, in thread order, for its share of the results (and runs the epilogue on
  // them). Deterministic at a given thread count; the floats differ from one thread's, whose sum runs in
  // one order over all rows.
  bool sumSplit = false;
  int64_t partialOffset = -1, partialStride = 0;
};

struct Plan {
  std::vector<Kernel> kernels;  // in execution order
  std::vector<int> kernelOf;    // node -> its kernel, -1 for sources and reshapes (which compute nothing)
  // node -> the node whose buffer holds its value: itself, a reshape's source, an sgd's parameter (updated in
  // place), or -1 when the value only ever lives in registers inside its kernel.
  std::vector<int> storage;
  std::vector<int64_t> offset;  // storage node -> byte offset in the arena, -1 when it owns no buffer
  std::vector<int64_t> bytes;   // storage node -> buffer size in bytes
  // storage node -> its buffer holds several temporaries in turn over the step (plan.cpp's reuse), so what it
  // holds after the step is the last of them: such values cannot be read back (JitEngine says so).
  std::vector<char> reused;
  // Per-kernel temporary space (packed matrices), shared by the kernels; with a team each thread has its own
  // scratchBytes (and the slack after it) from scratchOffset + thread * scratchStride.
  int64_t scratchOffset = 0, scratchBytes = 0, scratchStride = 0;
  int threads = 1;  // PlanOptions::threads
  int64_t profileOffset = -1;                   // PlanOptions::profile: uint64 ticks per kernel, else -1
  int64_t arenaBytes = 0;
  std::vector<char> transposed;  // node -> stored transposed (codegen/layout.h); empty when nothing is

  bool stored(int node) const { return storage[node] >= 0; }
  bool shared(int node) const { return stored(node) && !reused.empty() && reused[storage[node]]; }
  int64_t offsetOf(int node) const { return offset[storage[node]]; }
};

constexpr int64_t kArenaAlign = 64;  // a cache line: every buffer starts on one
// Readable bytes after the end of every buffer (and the scratch space): a partial last vector can then be
// loaded whole and stored as load-blend-store, which is far cheaper than masked stores on some x86 cores.
constexpr int64_t kTailSlack = 64;

// Plans a batch-bound graph. Throws netc::Error when an op has no code generator.
Plan makePlan(const Graph& bound, const PlanOptions& opts = {});

// The plan as text: kernels with the nodes each fuses and the buffers each reads and writes, then the arena.
std::string printPlan(const Graph& g, const Plan& p);

constexpr int kMaxThreads = 64;
// The threads a step of the batch-bound graph runs on: `requested` when it is > 0, else the default: one
// below the measured crossover (kTeamMinFlops of matrix-product work per step per extra thread), more above
// it, never more than the machine's hardware threads.
int chooseThreads(const Graph& bound, int requested);
// Floating-point work of a bound graph's matrix products (2*M*N*K each): what chooseThreads weighs, and what
// netc bench divides by the step's time.
double productFlops(const Graph& bound);

// With a team of threads > 1: marks the kernels run by every thread and the barriers between kernels.
void planTeam(const Graph& g, Plan& p, int threads);

// The node whose buffer an input of some node really is: reshapes are views of their source.
int aliasRoot(const Graph& g, int node);

}  // namespace netc::codegen
