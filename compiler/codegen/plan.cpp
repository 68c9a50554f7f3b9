// Fusion, in two steps: elementwise nodes pull their elementwise producers into their loop when every use of
// the producer is in that loop (walking from the loss back), then a kernel op that hands its results out one
// by one (matmul) takes the elementwise group consuming it as its epilogue. No merge may create a cycle
// between kernels. Memory: every value that leaves its kernel or that a user may read gets a fixed,
// cache-line aligned buffer in one arena.
#include "codegen/plan.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <functional>
#include <map>
#include <queue>

#include "codegen/kernels/cpu_kernels.h"
#include "codegen/kernels/gemm.h"
#include "ops/matmul.h"
#include "ops/op.h"
#include "support/sizes.h"

namespace netc::codegen {

std::vector<int> Kernel::nodes() const {
  std::vector<int> out;
  if (root >= 0) out.push_back(root);
  out.insert(out.end(), partners.begin(), partners.end());
  out.insert(out.end(), members.begin(), members.end());
  return out;
}

namespace {

bool isSource(const Node& n) { return n.op->cls == OpDef::Source; }
bool isElementwise(const Node& n) { return n.op->cls == OpDef::Elementwise; }

// Kernel ops whose code generator emits each result through KernelEmitter::emitResult, so elementwise
// consumers can be applied to it in registers before it is stored.
bool acceptsEpilogue(const Node& n) { return n.op->matrixProduct; }

class Planner {
 public:
  Planner(const Graph& g, const PlanOptions& opts) : g_(g), opts_(opts), n_(g.size()) {}

  Plan run() {
    for (const Node& n : g_.nodes)
      if (hasBatch(n.shape)) fail("internal error: code generation needs a graph with the batch size bound");
    buildDeps();
    formKernels();
    schedule();
    assignStorage();
    if (plan_.threads > 1) planTeam(g_, plan_, plan_.threads);
    return std::move(plan_);
  }

 private:
  // ---- dependencies: data edges plus write-after-read edges for in-place parameter updates ----
  void buildDeps() {
    deps_.resize(n_);
    for (const Node& n : g_.nodes) deps_[n.id] = n.inputs;
    // An update (sgd, assign) overwrites its target's buffer, so every other reader of the target runs first.
    for (const Node& s : g_.nodes) {
      int p = assignTarget(s);
      if (p < 0) continue;
      for (const Node& r : g_.nodes)
        if (r.id != s.id && !r.op->view)
          for (int in : r.inputs)
            if (aliasRoot(g_, in) == p) deps_[s.id].push_back(r.id);
    }
    // The extra edges may point forward in id order: check they leave the node graph acyclic.
    std::vector<int> state(n_, 0);
    std::function<void(int)> visit = [&](int v) {
      if (state[v] == 2) return;
      if (state[v] == 1) fail("internal error: the in-place parameter updates form a cycle");
      state[v] = 1;
      for (int d : deps_[v]) visit(d);
      state[v] = 2;
    };
    for (int v = 0; v < n_; ++v) visit(v);
    dependents_.assign(n_, {});
    for (int v = 0; v < n_; ++v)
      for (int d : deps_[v]) dependents_[d].push_back(v);
  }

  // Merging two kernels (each given by all its nodes) is legal when the kernels still run in some order: the
  // kernel graph (nodes contracted to their kernels) must stay acyclic. It is acyclic before the merge, so a
  // new cycle passes through the merged kernel: a path leaves it and comes back. The search follows
  // dependence edges forward from the merged nodes and enters every other kernel as a whole, since a path may
  // reach a third kernel at one node and leave it from another (the sgd of a and the sgd of b in
  // sum(a * b): each reads the other's parameter, so each must wait for the other's kernel). Sources and views
  // belong to no kernel and are passed node by node.
  bool canMerge(const std::vector<int>& a, const std::vector<int>& b) const {
    // Marks stamped with this call's number, so no call clears or allocates arrays of the graph's size.
    const int merged = ++mark_, seen = ++mark_;
    for (int v : a) markOf_[v] = merged;
    for (int v : b) markOf_[v] = merged;
    std::vector<int> stack;
    auto reach = [&](int v) {
      if (markOf_[v] == seen) return;
      if (int k = kernelOfNode_[v]; k >= 0) {
        for (int u : nodesOfKernel_[k]) markOf_[u] = seen, stack.push_back(u);
      } else {
        markOf_[v] = seen;
        stack.push_back(v);
      }
    };
    auto leaves = [&](const std::vector<int>& set) {
      for (int v : set)
        for (int s : dependents_[v])
          if (markOf_[s] != merged) reach(s);
    };
    leaves(a);
    leaves(b);
    while (!stack.empty()) {
      int v = stack.back();
      stack.pop_back();
      for (int s : dependents_[v]) {
        if (markOf_[s] == merged) return false;  // merged -> ... -> v -> merged
        reach(s);
      }
    }
    return true;
  }

  std::vector<int> membersOf(int k) const {
    std::vector<int> out;
    for (int v = 0; v < n_; ++v)
      if (kernelOfNode_[v] == k) out.push_back(v);
    return out;
  }

  void mergeInto(int dst, int src) {
    for (int v = 0; v < n_; ++v)
      if (kernelOfNode_[v] == src) kernelOfNode_[v] = dst;
    nodesOfKernel_[dst].insert(nodesOfKernel_[dst].end(), nodesOfKernel_[src].begin(), nodesOfKernel_[src].end());
    nodesOfKernel_[src].clear();
  }

  void formKernels() {
    kernelOfNode_.assign(n_, -1);
    nodesOfKernel_.clear();
    markOf_.assign(n_, 0);
    users_.assign(n_, {});
    for (const Node& n : g_.nodes)
      for (int in : n.inputs) users_[in].push_back(n.id);
    // Every computing node starts as its own kernel; reshapes and sources compute nothing.
    int count = 0;
    for (const Node& n : g_.nodes) {
      if (isSource(n) || n.op->view) continue;
      if (!isElementwise(n) && !hasCpuKernel(*n.op))
        fail(g_.source, n.loc, fmt::format("internal error: op '{}' has no code generator", n.op->name));
      kernelOfNode_[n.id] = count++;
      nodesOfKernel_.push_back({n.id});
    }
    if (opts_.fuse) {
      fuseProducersIntoConsumers();
      foldEpilogues();
      pairCrossEntropy();
    }
    // Renumber densely and describe each kernel.
    std::map<int, int> dense;
    for (int v = 0; v < n_; ++v) {
      int k = kernelOfNode_[v];
      if (k < 0) continue;
      if (!dense.count(k)) {
        dense[k] = static_cast<int>(kernels_.size());
        kernels_.emplace_back();
      }
      Kernel& K = kernels_[dense[k]];
      kernelOfNode_[v] = dense[k];
      if (isElementwise(g_[v])) K.members.push_back(v);
      else if (K.root < 0) K.root = v;
      else K.partners.push_back(v);
    }
    for (Kernel& K : kernels_) {
      K.kind = K.root >= 0 ? Kernel::Op : Kernel::Loop;
      K.domain = K.root >= 0 && g_[K.root].op->matrixProduct ? matmulDomain(g_, g_[K.root])
                                                              : g_[K.root >= 0 ? K.root : K.members.front()].shape;
    }
  }

  // Walking from the loss back, an elementwise node pulls in each elementwise producer of its shape whose
  // every user is already in its kernel: the producer's value then never needs to leave registers (the tanh
  // gradient chain 1 - h*h times dh becomes one loop). A producer with users elsewhere stays where it is, so
  // nothing is computed twice and no extra buffer appears.
  void fuseProducersIntoConsumers() {
    for (int v = n_ - 1; v >= 0; --v) {
      const Node& n = g_[v];
      if (!isElementwise(n)) continue;
      int k = kernelOfNode_[v];
      for (int p : n.inputs) {
        const Node& pn = g_[p];
        if (!isElementwise(pn) || kernelOfNode_[p] == k || pn.shape != n.shape) continue;
        bool allUsersHere = true;
        for (int u : users_[p]) allUsersHere = allUsersHere && kernelOfNode_[u] == k;
        if (!allUsersHere || !canMerge(membersOf(k), membersOf(kernelOfNode_[p]))) continue;
        mergeInto(k, kernelOfNode_[p]);
      }
    }
  }

  // cross_entropy_grad(L, t, dy) joins the kernel of cross_entropy(L, t), which then writes both: the gradient
  // needs the same row maxima and exp-sums. Not when dy depends on the loss (the merge check sees that).
  void pairCrossEntropy() {
    for (const Node& gr : g_.nodes) {
      if (!gr.op->joinsKernelOf) continue;
      for (const Node& f : g_.nodes) {
        if (f.op != gr.op->joinsKernelOf || f.id > gr.id || f.inputs[0] != gr.inputs[0] || f.inputs[1] != gr.inputs[1]) continue;
        int kf = kernelOfNode_[f.id], kg = kernelOfNode_[gr.id];
        if (kf == kg || membersOf(kf).size() != 1 || membersOf(kg).size() != 1) continue;
        if (!canMerge(membersOf(kf), membersOf(kg))) continue;
        mergeInto(kf, kg);
        break;
      }
    }
  }

  // A matrix product hands each result to the elementwise group that consumes it (bias add and tanh, the
  // gradient chain, an SGD update), so the product's output need not be stored and reloaded.
  void foldEpilogues() {
    for (const Node& m : g_.nodes) {
      if (!acceptsEpilogue(m)) continue;
      int km = kernelOfNode_[m.id];
      for (int u : users_[m.id]) {
        int ku = kernelOfNode_[u];
        if (ku < 0 || ku == km || !isElementwise(g_[u]) || g_[u].shape != m.shape) continue;
        std::vector<int> group = membersOf(ku);
        bool loopOnly = true, readsUpdated = false;
        for (int v : group) {
          loopOnly = loopOnly && isElementwise(g_[v]);
          // An in-place update must not run inside a kernel whose main loop still reads the old parameter.
          if (int target = assignTarget(g_[v]); target >= 0)
            for (int r : m.inputs) readsUpdated = readsUpdated || aliasRoot(g_, r) == target;
        }
        if (!loopOnly || readsUpdated || !readAlongDomain(m, group) || !canMerge(membersOf(km), group)) continue;
        mergeInto(km, ku);
        break;
      }
    }
  }

  // Whether every value the group reads can be indexed by the product's results, whose leading dimensions
  // the product's code merges into one (matmulDomain, KernelEmitter): a value that changes along them must lie
  // as the product's result does (a bias or a [B, T, N] value), not broadcast along some of them only (a
  // [T, N] value read by a [B, T, N] result goes to a loop of its own).
  bool readAlongDomain(const Node& m, const std::vector<int>& group) const {
    const Shape& full = m.shape;
    const int merged = static_cast<int>(full.size()) - static_cast<int>(matmulDomain(g_, m).size());
    if (merged <= 0) return true;
    for (int v : group)
      for (int in : g_[v].inputs) {
        const Shape& s = g_[in].shape;
        // Strides of `in` along the first merged + 1 dimensions of `full` (0 where broadcast), the size-1
        // dimensions of `full` left out: their index is always 0.
        std::vector<std::pair<int64_t, int64_t>> strideAndSize;
        int64_t run = 1;
        for (int d = static_cast<int>(full.size()) - 1; d >= 0; --d) {
          const int sd = d - static_cast<int>(full.size()) + static_cast<int>(s.size());
          const int64_t extent = sd >= 0 ? s[sd] : 1;
          if (d <= merged && full[d] != 1) strideAndSize.push_back({extent == 1 ? 0 : run, full[d]});
          run *= extent;
        }
        // Inner to outer: each stride must be the next inner one's times its size.
        for (size_t i = 1; i < strideAndSize.size(); ++i)
          if (strideAndSize[i].first != strideAndSize[i - 1].first * strideAndSize[i - 1].second) return false;
      }
    return true;
  }

  // Topological order of the kernels, preferring graph order (smallest first node) among the ready ones.
  void schedule() {
    const int nk = static_cast<int>(kernels_.size());
    std::vector<std::vector<int>> succ(nk);
    std::vector<int> indeg(nk, 0);
    // A kernel depends on the kernels producing its inputs; reshapes and sources are looked through.
    std::function<void(int, int)> addEdges = [&](int to, int dep) {
      int kd = kernelOfNode_[dep];
      if (kd >= 0) {
        if (kd != to && std::find(succ[kd].begin(), succ[kd].end(), to) == succ[kd].end()) {
          succ[kd].push_back(to);
          ++indeg[to];
        }
        return;
      }
      for (int d : deps_[dep]) addEdges(to, d);
    };
    for (int k = 0; k < nk; ++k)
      for (int v : kernels_[k].nodes())
        for (int d : deps_[v]) addEdges(k, d);
    auto first = [&](int k) { return kernels_[k].nodes().front(); };
    auto later = [&](int a, int b) { return first(a) > first(b); };
    std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
    for (int k = 0; k < nk; ++k)
      if (indeg[k] == 0) ready.push(k);
    std::vector<int> order;
    while (!ready.empty()) {
      int k = ready.top();
      ready.pop();
      order.push_back(k);
      for (int s : succ[k])
        if (--indeg[s] == 0) ready.push(s);
    }
    if (static_cast<int>(order.size()) != nk) fail("internal error: the fused kernels depend on each other in a cycle");
    plan_.kernelOf.assign(n_, -1);
    for (int k : order) {
      for (int v : kernels_[k].nodes()) plan_.kernelOf[v] = static_cast<int>(plan_.kernels.size());
      plan_.kernels.push_back(std::move(kernels_[k]));
    }
    for (size_t i = 0; i < plan_.kernels.size(); ++i) {
      Kernel& k = plan_.kernels[i];
      const Node& head = g_[k.kind == Kernel::Op ? k.root : k.members.back()];
      std::string what = k.kind == Kernel::Op ? head.op->name : "loop";
      std::string name = g_.valueName(head.id).substr(1);
      k.name = fmt::format("k{}.{}.{}", i, what, name);
    }
  }

  // ---- storage ----
  bool observable(const Node& n) const {
    return !n.name.empty() || n.id == g_.loss || n.probe.has_value();
  }

  // Computed values in execution order. A temporary's buffer is free again once the last kernel reading it
  // has run, and the next value of exactly its size takes it (an unrolled loop's backward pass makes the same
  // few shapes of gradient over and over): the arena shrinks to what is live at once, and the step's memory
  // stays in cache. Only temporaries are shared: values the runtime may read after the step (named ones,
  // the loss, probes, parameters, states, inputs) and values no later kernel reads (the step's outputs)
  // keep buffers of their own. Exactly equal sizes keep the buffer arguments, and so the kernels that
  // module_builder finds alike, the same. The sharing goes into `storage` (the value's buffer is the earlier
  // value's), so the thread team's barriers (planTeam compares storage) see it.
  template <class Place>
  void placeComputed(Place& place) {
    const std::vector<Kernel>& ks = plan_.kernels;
    std::vector<int> lastUse(n_, -1);  // storage node -> the last kernel reading it
    std::vector<char> pinned(n_, 0);   // storage node -> never shared
    for (const Node& n : g_.nodes) {
      int s = plan_.storage[n.id];
      if (s >= 0 && (isSource(n) || observable(n) || s != n.id && !n.op->view)) pinned[s] = 1;
    }
    for (size_t i = 0; i < ks.size(); ++i)
      for (int v : ks[i].nodes())
        for (int in : g_[v].inputs)
          if (int s = plan_.storage[in]; s >= 0 && plan_.kernelOf[in] != static_cast<int>(i))
            lastUse[s] = std::max(lastUse[s], static_cast<int>(i));
    std::vector<int> owner(n_, -1);  // storage node -> the buffer it uses (itself, or a freed one)
    plan_.reused.assign(n_, 0);
    std::map<int64_t, std::vector<int>> free;  // bytes -> freed buffers of that size
    std::vector<std::vector<int>> freedAfter(ks.size());
    for (size_t i = 0; i < ks.size(); ++i) {
      for (int v : ks[i].nodes()) {
        if (plan_.storage[v] != v) continue;
        const int64_t bytes = checkedMul(std::max<int64_t>(numel(g_[v].shape), 1), 4, "a buffer");
        const bool temporary = !pinned[v] && lastUse[v] > static_cast<int>(i);
        std::vector<int>* same = temporary ? &free[bytes] : nullptr;
        if (same && !same->empty()) {
          owner[v] = same->back();
          same->pop_back();
          plan_.bytes[v] = bytes;
          plan_.reused[owner[v]] = 1;
        } else {
          place(v);
          owner[v] = v;
        }
        if (temporary) freedAfter[static_cast<size_t>(lastUse[v])].push_back(v);
      }
      for (int v : freedAfter[i]) free[plan_.bytes[v]].push_back(owner[v]);
    }
    for (int& s : plan_.storage)
      if (s >= 0 && owner[s] >= 0) s = owner[s];
  }

  void assignStorage() {
    std::vector<bool> needed(n_, false);
    for (const Node& n : g_.nodes) {
      if (isSource(n) || observable(n)) needed[n.id] = true;
      // Kernel ops other than those handing results to an epilogue write their output buffer directly.
      int k = plan_.kernelOf[n.id];
      if (k >= 0 && !isElementwise(n) && !(plan_.kernels[k].root == n.id && acceptsEpilogue(n))) needed[n.id] = true;
      // A value read outside its kernel (a reshape counts as outside: it is only a view) must be in memory.
      for (int in : n.inputs)
        if (plan_.kernelOf[in] != plan_.kernelOf[n.id] || plan_.kernelOf[n.id] < 0) needed[in] = true;
    }
    // Reshapes share their source's buffer; follow chains so a needed view keeps its source stored.
    for (int v = n_ - 1; v >= 0; --v)
      if (needed[v] && g_[v].op->view) needed[g_[v].inputs[0]] = true;
    plan_.storage.assign(n_, -1);
    plan_.offset.assign(n_, -1);
    plan_.bytes.assign(n_, 0);
    for (const Node& n : g_.nodes) {
      if (assignTarget(n) >= 0) plan_.storage[n.id] = n.inputs[0];  // in place: the target's buffer
      else if (n.op->view) plan_.storage[n.id] = plan_.storage[n.inputs[0]];
      else if (needed[n.id]) plan_.storage[n.id] = n.id;
    }
    // Sizes and offsets in checked arithmetic: shapes come from the user's numbers (bindBatch bounds each
    // value, but the sum over all of them must not wrap either, or the arena comes out too small).
    int64_t at = 0;
    auto advance = [&](int64_t bytes) {
      at = checkedAdd(at, alignedSpan(bytes), "the compiled step's memory (arena)");
    };
    auto place = [&](int v) {
      plan_.offset[v] = at;
      plan_.bytes[v] = checkedMul(std::max<int64_t>(numel(g_[v].shape), 1), 4, "a buffer");  // f32 and i32 alike
      advance(plan_.bytes[v]);
    };
    // Parameters and states first, then inputs and constants, then computed values in execution order.
    for (int p : g_.persistent()) place(p);
    for (const Node& n : g_.nodes)
      if ((isInput(n) || isConst(n)) && plan_.storage[n.id] == n.id) place(n.id);
    placeComputed(place);
    int64_t scratch = 0;
    for (const Kernel& k : plan_.kernels)
      if (k.kind == Kernel::Op && g_[k.root].op->matrixProduct) scratch = std::max(scratch, matmulScratchBytes(g_, g_[k.root]));
    plan_.scratchOffset = at;
    plan_.scratchBytes = scratch;
    plan_.scratchStride = alignedSpan(scratch);
    plan_.threads = std::max(1, opts_.threads);
    for (int t = 0; t < plan_.threads; ++t) advance(scratch);
    if (opts_.profile) {
      plan_.profileOffset = at;
      advance(static_cast<int64_t>(plan_.kernels.size()) * 8 * plan_.threads);  // a row of counters per thread
    }
    plan_.arenaBytes = std::max<int64_t>(at, kArenaAlign);
  }

  // A buffer's bytes plus the readable tail, rounded up to whole cache lines (kArenaAlign).
  static int64_t alignedSpan(int64_t bytes) {
    const int64_t padded = checkedAdd(bytes, kTailSlack + kArenaAlign - 1, "a buffer");
    return padded / kArenaAlign * kArenaAlign;
  }

  const Graph& g_;
  PlanOptions opts_;
  int n_;
  std::vector<std::vector<int>> deps_;
  std::vector<std::vector<int>> dependents_;  // v -> the nodes with v in deps_
  std::vector<Kernel> kernels_;  // in formation order, before scheduling
  std::vector<int> kernelOfNode_;
  std::vector<std::vector<int>> nodesOfKernel_;  // kernel -> its nodes, while kernels form (canMerge)
  mutable std::vector<int> markOf_;               // canMerge's marks (node -> the mark it last set)
  mutable int mark_ = 0;
  std::vector<std::vector<int>> users_;
  Plan plan_;
};

}  // namespace

int aliasRoot(const Graph& g, int node) {
  while (g[node].op->view) node = g[node].inputs[0];
  return node;
}

Plan makePlan(const Graph& bound, const PlanOptions& opts) { return Planner(bound, opts).run(); }

std::string printPlan(const Graph& g, const Plan& p) {
  std::string out;
  auto value = [&](int v) { return fmt::format("{}:{}{}", g.valueName(v), dtypeName(g[v].dtype), shapeStr(g[v].shape)); };
  auto where = [&](int v) {
    int s = p.storage[v];
    if (s < 0) return std::string("registers");
    return s == v ? fmt::format("@{}", p.offset[s]) : fmt::format("@{} (in {})", p.offset[s], g.valueName(s));
  };
  out += fmt::format("plan: {} kernels, arena {} bytes (scratch {} at @{}{})\n", p.kernels.size(), p.arenaBytes,
                     p.scratchBytes, p.scratchOffset, p.threads > 1 ? fmt::format(" per thread, {} threads", p.threads) : "");
  for (const Kernel& k : p.kernels) {
    if (k.barrier) out += "barrier\n";
    out += fmt::format("{}  domain {}{}\n", k.name, shapeStr(k.domain),
                       p.threads <= 1 ? ""
                       : k.sumSplit ? fmt::format("  (summed rows split across the team; barrier; partials @{} "
                                                  "added in thread order)", k.partialOffset)
                       : k.split    ? "  (rows split across the team)"
                                    : "  (thread 0)");
    std::vector<int> reads, writes;
    for (int v : k.nodes()) {
      const Node& n = g[v];
      bool partner = std::find(k.partners.begin(), k.partners.end(), v) != k.partners.end();
      std::string role = v == k.root ? "kernel" : partner ? "also" : k.kind == Kernel::Op ? "epilogue" : "fused";
      std::vector<std::string> args;
      for (int in : n.inputs) args.push_back(g.valueName(in));
      std::string flags;
      if (n.op->matrixProduct && n.attrs.ints.size() == 2 && (n.attrs.ints[0] || n.attrs.ints[1]))
        flags = fmt::format(" transA={} transB={}", n.attrs.ints[0], n.attrs.ints[1]);
      if (n.op->matrixProduct && ops::productSumsLeading(n)) flags += " sumLeading";
      out += fmt::format("  {:<8} {:<22} = {} {}{}  -> {}\n", role, value(v), n.op->name, fmt::join(args, ", "), flags,
                         where(v));
      for (int in : n.inputs)
        if (p.kernelOf[in] != p.kernelOf[v] || p.kernelOf[in] < 0)
          if (std::find(reads.begin(), reads.end(), in) == reads.end()) reads.push_back(in);
    }
    std::vector<std::string> r;
    for (int in : reads) r.push_back(fmt::format("{} {}", g.valueName(in), where(in)));
    out += fmt::format("  reads    {}\n", fmt::join(r, ", "));
  }
  out += "buffers:\n";
  for (int v = 0; v < g.size(); ++v) {
    if (p.offset[v] < 0) continue;
    std::vector<std::string> views;
    // `folded` nodes (a fused formula's, the only internal views: ops/folded.cpp) hold nothing: not listed.
    for (int u = 0; u < g.size(); ++u)
      if (u != v && p.storage[u] == v && !(g[u].op->view && g[u].op->internal)) views.push_back(g.valueName(u));
    bool transposed = static_cast<size_t>(v) < p.transposed.size() && p.transposed[static_cast<size_t>(v)];
    out += fmt::format("  @{:<8} {:>8} bytes  {}{}{}\n", p.offset[v], p.bytes[v], value(v),
                       views.empty() ? "" : fmt::format("  (also {})", fmt::join(views, ", ")),
                       transposed ? "  (stored transposed)" : "");
  }
  for (const Kernel& k : p.kernels)
    if (k.sumSplit)
      out += fmt::format("  @{:<8} {:>8} bytes  partial sums of {} ({} threads, {} bytes each)\n", k.partialOffset,
                         k.partialStride * p.threads, k.name, p.threads, k.partialStride);
  return out;
}

}  // namespace netc::codegen
