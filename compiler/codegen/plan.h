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
};

struct Plan {
  std::vector<Kernel> kernels;  // in execution order
  std::vector<int> kernelOf;    // node -> its kernel, -1 for sources and reshapes (which compute nothing)
  // node -> the node whose buffer holds its value: itself, a reshape's source, an sgd's parameter (updated in
  // place), or -1 when the value only ever lives in registers inside its kernel.
  std::vector<int> storage;
  std::vector<int64_t> offset;  // storage node -> byte offset in the arena, -1 when it owns no buffer
  std::vector<int64_t> bytes;   // storage node -> buffer size in bytes
  int64_t scratchOffset = 0, scratchBytes = 0;  // per-kernel temporary space (packed matrices), shared
  int64_t profileOffset = -1;                   // PlanOptions::profile: uint64 ticks per kernel, else -1
  int64_t arenaBytes = 0;
  std::vector<char> transposed;  // node -> stored transposed (codegen/layout.h); empty when nothing is

  bool stored(int node) const { return storage[node] >= 0; }
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

// The node whose buffer an input of some node really is: reshapes are views of their source.
int aliasRoot(const Graph& g, int node);

}  // namespace netc::codegen
