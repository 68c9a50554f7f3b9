#include "engine/jit_engine.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <thread>

#include "codegen/module_builder.h"
#include "codegen/step_key.h"
#include "ops/op.h"
#include "pipeline/pipeline.h"
#include "support/sizes.h"

namespace netc {

namespace {

// Which table each index input addresses: the tightest bound over all its uses (through reshapes).
// An index value's source: through reshapes (views) and slices (x[:, t] of an index input).
int indexRoot(const Graph& g, int idx) {
  while (g[idx].op->keepsElements) idx = g[idx].inputs[0];
  return idx;
}

std::vector<int64_t> indexLimits(const Graph& g) {
  std::vector<int64_t> limit(g.size(), -1);
  auto bound = [&](int idx, int64_t n) {
    int r = indexRoot(g, idx);
    limit[r] = limit[r] < 0 ? n : std::min(limit[r], n);
  };
  for (const Node& n : g.nodes) {
    if (n.op->indexBound.input >= 0) bound(n.inputs[n.op->indexBound.input], indexLimit(g, n));
  }
  return limit;
}

// Targets a cross_entropy(..., ignore_index=K) skips may hold K: per node, the value allowed beside [0, limit).
std::vector<int64_t> ignoredValues(const Graph& g) {
  std::vector<int64_t> v(g.size(), 0);  // 0: nothing beyond the range (0 is in it anyway)
  for (const Node& n : g.nodes)
    if (n.op->indexBound.ignoredValueInAttr0 && !n.attrs.ints.empty())
      v[indexRoot(g, n.inputs[n.op->indexBound.input])] = n.attrs.ints[0];
  return v;
}

}  // namespace

void JitEngine::FreeArena::operator()(void* p) const { std::free(p); }

JitEngine::JitEngine(const Graph& bound, const codegen::CodegenOptions& opts) : g_(bound) {
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  codegen::HostTarget target(opts);
  auto t0 = clock::now();
  // One module per compile thread: modules cost a fixed setup each, so no more than can run at once.
  unsigned threads = opts.compileThreads ? opts.compileThreads : std::max(1u, std::thread::hardware_concurrency());
  pipeline::Options po;
  po.codegen = opts;
  po.target = &target.info();
  po.modules = static_cast<int>(std::min(threads, 8u));
  pipeline::Compiled c;
  c.bound = g_;
  pipeline::resumeInPlace(c, po, pipeline::Stage::Layout, pipeline::Stage::Plan);
  // Before compiling and allocating: an arena beyond the machine's memory would fail late, or be overcommitted
  // and get the process killed.
  checkFitsInMemory(c.plan.arenaBytes, "the compiled step's arena", ": use a smaller batch size or smaller layers");
  auto t1 = clock::now();
  // Compiled before (a sweep's runs, a rerun): its objects are found by a key of the graph and the options,
  // before any IR is built.
  const std::string stepKey = codegen::stepCacheKey(c.code, opts, target.info(), po.modules);
  auto t2 = clock::now();  // on a hit, "IR" is the time the key took; linking counts as LLVM's
  code_ = codegen::CompiledStep::fromCache(stepKey);
  if (!code_) {
    pipeline::resumeInPlace(c, po, pipeline::Stage::BuildModules, pipeline::Stage::BuildModules);
    t2 = clock::now();
    code_ = std::make_unique<codegen::CompiledStep>(std::move(c.modules), threads, stepKey);
  }
  code_graph_ = std::move(c.code);
  layout_ = std::move(c.layout);
  plan_ = std::move(c.plan);
  times_ = {ms(t0, t1), ms(t1, t2), code_->stats()};
  target_ = fmt::format("{}, {}-float vectors", target.cpu(), target.info().vectorLanes);
  size_t bytes = static_cast<size_t>(plan_.arenaBytes);
  arena_.reset(std::aligned_alloc(codegen::kArenaAlign, bytes));
  if (!arena_) fail(fmt::format("out of memory: cannot allocate the {}-byte arena", bytes));
  std::memset(arena_.get(), 0, bytes);  // parameters start at zero and every index at a valid 0
  for (const Node& n : g_.nodes)
    if (isConst(n)) *static_cast<float*>(bufferOf(n.id, "initialise")) = static_cast<float>(n.attrs.value);
  team_ = std::make_unique<codegen::ThreadTeam>(plan_.threads, code_->function(codegen::kSoloStepFunction),
                                                opts.adaptiveTeam);
  indexLimit_ = indexLimits(g_);
  ignoredValue_ = ignoredValues(g_);
}

JitEngine::~JitEngine() = default;

void* JitEngine::bufferOf(int node, const char* what) {
  if (node < 0 || node >= g_.size()) fail(fmt::format("cannot {} node {}: the graph has {} nodes", what, node, g_.size()));
  if (!plan_.stored(node)) {
    int k = plan_.kernelOf[node];
    fail(fmt::format("cannot {} {}: the compiled code keeps it only in registers (fused into kernel {}); "
                     "named values, the loss, gradients and probes are kept in memory",
                     what, g_.valueName(node), k >= 0 ? plan_.kernels[k].name : "?"));
  }
  if (plan_.shared(node))
    fail(fmt::format("cannot {} {}: it is a temporary of the step, whose memory later temporaries reuse; named "
                     "values, the loss, gradients and probes are kept in memory",
                     what, g_.valueName(node)));
  return static_cast<char*>(arena_.get()) + plan_.offsetOf(node);
}

void JitEngine::checkIndex(int node, size_t pos, double v) const {
  int64_t lim = indexLimit_[node];
  double hi = lim >= 0 ? static_cast<double>(lim) : 2147483648.0;
  if (v == static_cast<double>(ignoredValue_[node])) return;
  if (v != std::floor(v) || v < 0 || v >= hi) {
    std::string range = lim >= 0 ? fmt::format("it indexes a table of {} rows, so 0..{} are valid", lim, lim - 1)
                                 : std::string("indices must be whole numbers from 0");
    fail(fmt::format("index {} at position {} of {} is out of range: {}", v, pos, g_.valueName(node), range));
  }
}

void JitEngine::write(int node, std::span<const double> values) {
  void* p = bufferOf(node, "write");
  const Node& n = g_[node];
  if (!isInput(n) && !isParam(n) && !isState(n))
    fail(fmt::format("cannot write {}: only inputs, parameters and states can be written", g_.valueName(node)));
  if (static_cast<int64_t>(values.size()) != numel(n.shape))
    fail(fmt::format("cannot write {} values into {} of shape {}", values.size(), g_.valueName(node), shapeStr(n.shape)));
  if (n.dtype == DType::I32) {
    for (size_t i = 0; i < values.size(); ++i) checkIndex(node, i, values[i]);
    auto* dst = static_cast<int32_t*>(p);
    for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<int32_t>(values[i]);
  } else {
    std::vector<double> stored;
    if (layout_.transposed[static_cast<size_t>(node)]) {
      codegen::toStorage(values, n.shape[0], n.shape[1], stored);
      values = stored;
    }
    auto* dst = static_cast<float*>(p);
    for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<float>(values[i]);
  }
}

void JitEngine::writeIndices(int node, std::span<const int32_t> values) {
  void* p = bufferOf(node, "write");
  const Node& n = g_[node];
  if (n.dtype != DType::I32) {
    std::vector<double> d(values.begin(), values.end());
    write(node, d);
    return;
  }
  if (!isInput(n))
    fail(fmt::format("cannot write {}: only inputs and parameters can be written", g_.valueName(node)));
  if (static_cast<int64_t>(values.size()) != numel(n.shape))
    fail(fmt::format("cannot write {} indices into {} of shape {}", values.size(), g_.valueName(node), shapeStr(n.shape)));
  int64_t lim = indexLimit_[node];
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || (lim >= 0 && values[i] >= lim)) checkIndex(node, i, values[i]);
  std::memcpy(p, values.data(), values.size() * sizeof(int32_t));
}

std::vector<double> JitEngine::read(int node) {
  const void* p = bufferOf(node, "read");
  const Node& n = g_[node];
  std::vector<double> out(static_cast<size_t>(numel(n.shape)));
  if (n.dtype == DType::I32) {
    auto* src = static_cast<const int32_t*>(p);
    for (size_t i = 0; i < out.size(); ++i) out[i] = src[i];
  } else {
    auto* src = static_cast<const float*>(p);
    for (size_t i = 0; i < out.size(); ++i) out[i] = src[i];
    if (layout_.transposed[static_cast<size_t>(node)]) {
      std::vector<double> logical;
      codegen::fromStorage(out, n.shape[0], n.shape[1], logical);
      return logical;
    }
  }
  return out;
}

double JitEngine::readScalar(int node) {
  const void* p = bufferOf(node, "read");
  return g_[node].dtype == DType::I32 ? *static_cast<const int32_t*>(p) : *static_cast<const float*>(p);
}

void JitEngine::run() { team_->run(code_->step(), arena_.get()); }

std::vector<uint64_t> JitEngine::kernelTicks(int thread) const {
  std::vector<uint64_t> out(plan_.profileOffset < 0 || thread < 0 || thread >= plan_.threads ? 0 : plan_.kernels.size());
  if (!out.empty())
    std::memcpy(out.data(), static_cast<char*>(arena_.get()) + plan_.profileOffset + thread * out.size() * 8,
                out.size() * 8);
  return out;
}

void JitEngine::resetKernelTicks() {
  if (plan_.profileOffset >= 0)
    std::memset(static_cast<char*>(arena_.get()) + plan_.profileOffset, 0, plan_.kernels.size() * 8 * plan_.threads);
}

}  // namespace netc
