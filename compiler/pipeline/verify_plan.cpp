#include "pipeline/verify_plan.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc::pipeline {

using codegen::Kernel;
using codegen::Plan;

void verifyLayout(const Graph& bound, const Graph& code, const codegen::Layout& layout) {
  if (code.size() != bound.size())
    fail(fmt::format("the code's graph has {} nodes, the bound graph {}", code.size(), bound.size()));
  if (!layout.transposed.empty() && layout.transposed.size() != static_cast<size_t>(code.size()))
    fail(fmt::format("the layout covers {} nodes, the graph has {}", layout.transposed.size(), code.size()));
  for (int v = 0; v < code.size(); ++v) {
    const Node &b = bound[v], &c = code[v];
    auto bad = [&](const std::string& what) {
      fail(fmt::format("node {} ({}): {}", code.valueName(v), c.op ? c.op->name : "?", what));
    };
    // The one rewrite of ops the layout pass makes: a backward formula computed by a fused kernel, its result the
    // fused op (OpDef::joinsKernelOf) and its other nodes `folded`, the only internal view (ops/folded.cpp).
    const bool fusedFormula = c.op != b.op && b.phase == Phase::Backward && (c.op->joinsKernelOf || (c.op->view && c.op->internal));
    if ((c.op != b.op && !fusedFormula) || c.dtype != b.dtype) bad("its op or dtype differs from the bound graph's");
    std::vector<int> ci = c.inputs, bi = b.inputs;
    std::sort(ci.begin(), ci.end());
    std::sort(bi.begin(), bi.end());
    if (ci != bi && !fusedFormula) bad("its inputs differ from the bound graph's");
    const bool transposed = !layout.transposed.empty() && layout.transposed[static_cast<size_t>(v)];
    if (!transposed && c.shape != b.shape)
      bad(fmt::format("shape {} but it is declared {} and not stored transposed", shapeStr(c.shape),
                      shapeStr(b.shape)));
    if (transposed && (b.shape.size() != 2 || c.shape != Shape{b.shape[1], b.shape[0]}))
      bad(fmt::format("stored transposed as {}, which is not the transpose of its declared {}", shapeStr(c.shape),
                      shapeStr(b.shape)));
  }
}

namespace {

// One range of the arena that holds one thing during part of the step.
struct Occupant {
  int64_t begin = 0, end = 0;   // bytes [begin, end)
  int first = -1, last = -1;    // kernels [first, last] during which it must stay; -1 before the step, K after
  int node = -1;                // the value it holds, or -1 for scratch, partial sums, counters
  std::string what;
};

bool observable(const Graph& g, const Node& n) { return !n.name.empty() || n.id == g.loss || n.probe.has_value(); }
bool isSource(const Node& n) { return n.op->cls == OpDef::Source; }

class PlanChecker {
 public:
  PlanChecker(const Graph& g, const Plan& p) : g_(g), p_(p), n_(g.size()), K_(static_cast<int>(p.kernels.size())) {}

  void run() {
    checkTables();
    checkReads();
    checkStorage();
    checkOverlaps();
  }

 private:
  // "kernel 12 (tanh %h)": the kernel's root, or the last node of its loop (the group's result).
  std::string kernelName(int k) const {
    const Kernel& K = p_.kernels[static_cast<size_t>(k)];
    int v = K.root >= 0 ? K.root : K.members.empty() ? -1 : K.members.back();
    if (v < 0) return fmt::format("kernel {}", k);
    return fmt::format("kernel {} ({} {})", k, g_[v].op->name, g_.valueName(v));
  }

  void checkTables() const {
    auto covers = [&](size_t size, const char* what) {
      if (size != static_cast<size_t>(n_))
        fail(fmt::format("the plan's {} cover {} nodes, the graph has {}", what, size, n_));
    };
    covers(p_.kernelOf.size(), "kernel numbers");
    covers(p_.storage.size(), "storage entries");
    covers(p_.offset.size(), "offsets");
    covers(p_.bytes.size(), "buffer sizes");
    for (int k = 0; k < K_; ++k)
      for (int v : p_.kernels[static_cast<size_t>(k)].nodes())
        if (v < 0 || v >= n_ || p_.kernelOf[v] != k)
          fail(fmt::format("{} holds node {}, which the plan says belongs to kernel {}", kernelName(k), v,
                           v < 0 || v >= n_ ? -1 : p_.kernelOf[v]));
    for (int v = 0; v < n_; ++v) {
      const int s = p_.storage[v];
      if (s >= n_ || (s >= 0 && p_.storage[s] != s))
        fail(fmt::format("{} is stored in the buffer of node {}, which is not a buffer of its own", g_.valueName(v),
                         s));
    }
  }

  // Every value a kernel reads from memory was written by an earlier kernel, or lives across steps.
  void checkReads() {
    lastRead_.assign(static_cast<size_t>(n_), -1);
    for (int k = 0; k < K_; ++k)
      for (int v : p_.kernels[static_cast<size_t>(k)].nodes())
        for (int in : g_[v].inputs) {
          if (p_.kernelOf[in] == k) continue;  // computed in this kernel, in registers
          const int source = codegen::aliasRoot(g_, in);  // a view reads its source's buffer
          if (!p_.stored(in))
            fail(fmt::format("{} reads {}, which has no storage", kernelName(k), g_.valueName(in)));
          const int writer = p_.kernelOf[source];
          if (writer < 0 && !isSource(g_[source]))
            fail(fmt::format("{} reads buffer of {}, which no kernel writes", kernelName(k), g_.valueName(source)));
          if (writer > k)
            fail(fmt::format("{} reads buffer of {} before any kernel writes it (kernel {} does, later)",
                             kernelName(k), g_.valueName(source), writer));
          lastRead_[static_cast<size_t>(source)] = std::max(lastRead_[static_cast<size_t>(source)], k);
        }
  }

  int64_t valueBytes(int v) const { return std::max<int64_t>(numel(g_[v].shape), 1) * 4; }  // f32 and i32 alike

  // Every value the runtime reads after the step has storage, every kernel stores something, and every
  // stored value lies inside the arena.
  void checkStorage() const {
    for (int k = 0; k < K_; ++k) {
      const std::vector<int> nodes = p_.kernels[static_cast<size_t>(k)].nodes();
      if (std::none_of(nodes.begin(), nodes.end(), [&](int v) { return p_.stored(v); }))
        fail(fmt::format("{} stores none of its results", kernelName(k)));
    }
    for (int v = 0; v < n_; ++v) {
      const Node& n = g_[v];
      if (!p_.stored(v)) {
        if (observable(g_, n) || isSource(n))
          fail(fmt::format("{} has no storage, but {}", g_.valueName(v),
                           isSource(n) ? "it lives across steps" : "the runtime may read it after the step"));
        continue;
      }
      const int64_t at = p_.offsetOf(v);
      if (at < 0 || at % codegen::kArenaAlign != 0 || at + valueBytes(v) > p_.arenaBytes)
        fail(fmt::format("{} is stored at @{} ({} bytes), outside the {}-byte arena or off a cache line",
                         g_.valueName(v), at, valueBytes(v), p_.arenaBytes));
    }
  }

  // Per node: the value whose buffer it overwrites in place (an update: sgd, assign, an optimizer's step), or -1.
  std::vector<int> inPlaceWriters() const {
    std::vector<int> over(static_cast<size_t>(n_), -1);
    for (int v = 0; v < n_; ++v) {
      const int target = assignTarget(g_[v]);
      if (target >= 0 && p_.stored(v) && p_.stored(target) && p_.storage[target] == p_.storage[v])
        over[static_cast<size_t>(v)] = codegen::aliasRoot(g_, target);
    }
    return over;
  }

  void checkOverlaps() {
    const std::vector<int> overwrites = inPlaceWriters();
    std::vector<char> overwritten(static_cast<size_t>(n_), 0);
    for (int target : overwrites)
      if (target >= 0) overwritten[static_cast<size_t>(target)] = 1;
    std::vector<Occupant> occ;
    for (int v = 0; v < n_; ++v) {
      const Node& n = g_[v];
      if (!p_.stored(v) || codegen::aliasRoot(g_, v) != v) continue;  // a view (reshape) is its source's bytes
      Occupant o;
      o.node = v;
      o.begin = p_.offsetOf(v);
      o.end = o.begin + valueBytes(v);
      o.first = p_.kernelOf[v];  // sources: -1, written before the step
      const int read = lastRead_[static_cast<size_t>(v)];
      // Kept to the end of the step: what lives across steps unless an update overwrites it in place (the
      // runtime then reads the update), what the runtime reads, what no kernel reads (the step's outputs).
      const bool kept = isSource(n) ? !overwritten[static_cast<size_t>(v)] : observable(g_, n) || read < 0;
      o.last = kept ? K_ : read;
      o.what = fmt::format("the buffer of {}", g_.valueName(v));
      occ.push_back(std::move(o));
    }
    auto region = [&](int64_t at, int64_t bytes, int first, int last, std::string what) {
      if (bytes > 0) occ.push_back({at, at + bytes, first, last, -1, std::move(what)});
    };
    for (int t = 0; t < p_.threads; ++t)
      region(p_.scratchOffset + t * p_.scratchStride, p_.scratchBytes, -1, K_,
             fmt::format("the scratch space of thread {}", t));
    if (p_.profileOffset >= 0)
      region(p_.profileOffset, static_cast<int64_t>(K_) * 8 * p_.threads, -1, K_, "the kernels' tick counters");
    for (int k = 0; k < K_; ++k) {
      const Kernel& K = p_.kernels[static_cast<size_t>(k)];
      if (K.sumSplit)
        region(K.partialOffset, K.partialStride * p_.threads, k, k,
               fmt::format("the partial sums of {}", kernelName(k)));
    }
    for (const Occupant& o : occ)
      if (o.end > p_.arenaBytes)
        fail(fmt::format("{} (@{}..{}) ends beyond the {}-byte arena", o.what, o.begin, o.end, p_.arenaBytes));
    std::stable_sort(occ.begin(), occ.end(), [](const Occupant& a, const Occupant& b) { return a.begin < b.begin; });
    for (size_t i = 0; i < occ.size(); ++i)
      for (size_t j = i + 1; j < occ.size() && occ[j].begin < occ[i].end; ++j)
        if (liveTogether(occ[i], occ[j], overwrites))
          fail(fmt::format("{} (@{}..{}, {}) and {} (@{}..{}, {}) are live at the same time and share bytes",
                           occ[i].what, occ[i].begin, occ[i].end, lifetime(occ[i]), occ[j].what, occ[j].begin,
                           occ[j].end, lifetime(occ[j])));
  }

  std::string lifetime(const Occupant& o) const {
    auto at = [&](int k) {
      return k < 0 ? std::string("before the step") : k >= K_ ? std::string("after it") : fmt::format("kernel {}", k);
    };
    return fmt::format("live from {} to {}", at(o.first), at(o.last));
  }

  // Closed lifetimes [first, last] overlap, except an update in place: the kernel reading a value last may
  // write its next value into the same bytes.
  static bool liveTogether(const Occupant& a, const Occupant& b, const std::vector<int>& overwrites) {
    if (a.first > b.last || b.first > a.last) return false;
    auto replaces = [&](const Occupant& next, const Occupant& old) {
      return next.node >= 0 && old.node >= 0 && overwrites[static_cast<size_t>(next.node)] == old.node &&
             next.first == old.last;
    };
    return !replaces(a, b) && !replaces(b, a);
  }

  const Graph& g_;
  const Plan& p_;
  const int n_, K_;
  std::vector<int> lastRead_;  // value (not a view) -> the last kernel reading it from memory, -1 when none
};

}  // namespace

void verifyPlan(const Graph& g, const Plan& p) { PlanChecker(g, p).run(); }

}  // namespace netc::pipeline
