// netc bench MODEL.net: how long the compiler takes from the .net file to the first training step, and how
// long one compiled training step takes (sampling a random minibatch of (context, target) examples from the
// training split, forward, backward, SGD update) on one thread or a team of them, as the median over many
// steps.
#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "codegen/fma_peak.h"
#include "codegen/plan.h"
#include "engine/jit_engine.h"
#include "driver/command.h"
#include "ops/op.h"
#include "pipeline/pipeline.h"
#include "runtime/data/dataset.h"
#include "runtime/training/init.h"
#include "runtime/random/rng.h"
#include "runtime/training/run_checks.h"
#include "runtime/runs/stats_observer.h"
#include "runtime/files/weights.h"

namespace netc::driver {

namespace {

// The time-stamp counter the profiling build's tick counts come from (llvm.readcyclecounter), 0 elsewhere.
uint64_t timeStamp() {
#if defined(__x86_64__) || defined(__i386__)
  return __rdtsc();
#else
  return 0;
#endif
}

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point a, Clock::time_point b = Clock::now()) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

constexpr int64_t kMaxBenchSteps = 10'000'000;

struct BenchOptions {
  int64_t batch = 0;  // 0: the train section's
  int64_t steps = 2000;
  int64_t warmup = 200;
  bool kernels = false;
  bool probes = false;
  uint64_t seed = 1;
  unsigned vectorBits = 0;  // 0: the host's default
  int threads = 0;          // 0: codegen::chooseThreads's choice for the bound graph

  codegen::CodegenOptions codegen(const Graph& bound) const {
    codegen::CodegenOptions co;
    co.vectorBits = vectorBits;
    co.plan.threads = codegen::chooseThreads(bound, threads);
    co.adaptiveTeam = threads == 0;  // --threads N times N threads, always
    return co;
  }
};

// The state a training run starts from: the train section's initialisation and its first learning rate.
void startTraining(Engine& e, const Model& m, const TrainingGraph& t) {
  loadParams(e, initParams(t.graph, m.train.seed, m.train.globalSeed), "init");
  std::vector<double> lr = {m.train.learningRate(0)};
  e.write(t.lr, lr);
}

// Random minibatches of training examples, written into an engine's context and target inputs.
class MinibatchSampler {
 public:
  MinibatchSampler(const Examples& ex, const Model& m, int64_t batch, uint64_t seed)
      : ex_(ex), x_(m.contextInput), y_(m.targetInput), rng_(seed), xb_(batch * ex.context), yb_(batch * ex.targets) {}
  void feed(Engine& e) {
    const int64_t rows = static_cast<int64_t>(yb_.size()) / ex_.targets;
    for (int64_t b = 0; b < rows; ++b) ex_.gather(static_cast<int64_t>(rng_.below(static_cast<uint64_t>(ex_.size()))), b, xb_, yb_);
    e.writeIndices(x_, xb_);
    e.writeIndices(y_, yb_);
  }

 private:
  const Examples& ex_;
  int x_, y_;
  Rng rng_;
  std::vector<int32_t> xb_, yb_;
};

struct Timings {
  std::vector<double> us;  // per step, sorted
  double median() const { return us[us.size() / 2]; }
  double p90() const { return us[us.size() * 9 / 10]; }
};

// `afterStep(timed)` runs after every step, outside the timing.
Timings timeSteps(Engine& e, MinibatchSampler& s, const BenchOptions& o,
                  const std::function<void(bool)>& afterStep = {}) {
  for (int64_t i = 0; i < o.warmup; ++i) {
    s.feed(e);
    e.run();
    if (afterStep) afterStep(false);
  }
  Timings t;
  for (int64_t i = 0; i < o.steps; ++i) {
    auto t0 = Clock::now();
    s.feed(e);
    e.run();
    t.us.push_back(msSince(t0) * 1000);
    if (afterStep) afterStep(true);
  }
  std::sort(t.us.begin(), t.us.end());
  return t;
}

// The per-kernel breakdown: a second build of the step with a tick counter around every kernel call.
void printKernelBreakdown(const Graph& bound, const Model& m, const Examples& ex, const TrainingGraph& t,
                          const BenchOptions& o) {
  codegen::CodegenOptions co = o.codegen(bound);
  co.plan.profile = true;
  JitEngine jit(bound, co);
  startTraining(jit, m, t);
  MinibatchSampler sampler(ex, m, bound[m.targetInput].shape[0], o.seed);
  const size_t K = jit.plan().kernels.size();
  std::vector<std::vector<double>> ticks(K), last(K);  // thread 0's, and the last thread's (with a team)
  // Ticks are the CPU's time-stamp counter; calibrated against the clock over the whole timed loop (not
  // against the kernels' sum, which with a team leaves out thread 0's waits at barriers).
  uint64_t tsc0 = 0;
  auto c0 = Clock::now();
  Timings steps = timeSteps(jit, sampler, o, [&](bool timed) {
    std::vector<uint64_t> tk = jit.kernelTicks(), tl = jit.kernelTicks(jit.threads() - 1);
    jit.resetKernelTicks();
    if (!timed) return;
    if (ticks[0].empty()) tsc0 = timeStamp(), c0 = Clock::now();
    for (size_t k = 0; k < K; ++k) ticks[k].push_back(static_cast<double>(tk[k])), last[k].push_back(static_cast<double>(tl[k]));
  });
  double ticksPerUs = static_cast<double>(timeStamp() - tsc0) / std::max(1.0, msSince(c0) * 1000);
  const bool team = jit.threads() > 1;
  fmt::print("per kernel, us per step{} (the step's median {:.1f} us includes sampling and calls):\n",
             team ? " on thread 0 and on the last thread (split kernels: each one's share)" : "", steps.median());
  fmt::print("  {:>8}  {:>8}{}  kernel\n", "median", "min", team ? fmt::format("  {:>8}  {:>8}", "last med", "last min") : "");
  auto at = [&](std::vector<double>& v, bool median) {
    std::sort(v.begin(), v.end());
    return (median ? v[v.size() / 2] : v.front()) / ticksPerUs;
  };
  for (size_t k = 0; k < K; ++k) {
    std::string other = team ? fmt::format("  {:>8.2f}  {:>8.2f}", at(last[k], true), at(last[k], false)) : "";
    fmt::print("  {:>8.2f}  {:>8.2f}{}  {}\n", at(ticks[k], true), at(ticks[k], false), other, jit.plan().kernels[k].name);
  }
}

// What statistics cost: the instrumented step (the plain step plus the probe pass's statistics nodes) as
// `netc run` takes it at step 0, every probe_every steps and the last step, with the copies of the parameters
// into its engine and back that the trainer makes around it.
void printProbeCost(const Model& m, const TrainingGraph& t, JitEngine& plain, const Examples& ex,
                    const BenchOptions& o, double plainMedianUs) {
  const int64_t batch = plain.graph()[m.targetInput].shape[0];
  pipeline::Options po;
  po.probes = instrumentOptions(m, m.train);
  po.batch = batch;
  const pipeline::Compiled probed =
      pipeline::resume({.model = m, .training = t}, po, pipeline::Stage::Instrument, pipeline::Stage::BindBatch);
  const ProbePlan& probes = probed.instrumented->plan;
  const Graph& probeGraph = probed.bound;
  JitEngine probe(probeGraph, o.codegen(probeGraph));
  startTraining(probe, m, t);
  MinibatchSampler sampler(ex, m, batch, o.seed + 1);
  const std::vector<int> params = plain.graph().persistent();  // what the trainer copies: parameters and state
  Timings probeSteps;
  const int64_t n = std::max<int64_t>(50, o.steps / 10);
  for (int64_t i = 0; i < n + 10; ++i) {
    auto t0 = Clock::now();
    for (int p : params) probe.write(p, plain.read(p));
    sampler.feed(probe);
    probe.run();
    for (int p : params) plain.write(p, probe.read(p));
    if (i >= 10) probeSteps.us.push_back(msSince(t0) * 1000);
  }
  std::sort(probeSteps.us.begin(), probeSteps.us.end());
  const double extra = probeSteps.median() - plainMedianUs;
  const int64_t every = m.train.probeEvery;
  fmt::print("probe step (statistics of {} probes and {} parameters, parameters copied in and out): median {:.1f} us, "
             "{:+.1f} us over the plain step; at probe_every = {} that adds {:.2f}% to training\n",
             probes.probes.size(), probes.params.size(), probeSteps.median(), extra, every,
             100.0 * std::max(0.0, extra) / (static_cast<double>(every) * plainMedianUs));
}

int bench(const ModelOptions& mo, const BenchOptions& o) {
  // Compile time: from reading the .net file to the end of the first training step.
  auto start = Clock::now();
  Model m = mo.load();
  double front = msSince(start);
  if (m.contextInput < 0 || m.targetInput < 0)
    fail(fmt::format("netc bench: {} needs a context input (int[B, T]) and targets (int[B]) fed from its dataset",
                     mo.model));
  warnIfMoreThreadsThanCores(o.threads);
  auto t1 = Clock::now();
  pipeline::Options po;
  po.optimizer = m.train.optimizer;
  pipeline::Compiled step = pipeline::run(m, po, pipeline::Stage::Differentiate);
  m = step.model;  // node ids from here on refer to the train form
  const TrainingGraph& t = *step.training;
  int64_t batch = o.batch > 0 ? checkBatchFlag(m.graph, o.batch) : m.train.batch;
  po.batch = batch;
  pipeline::resumeInPlace(step, po, pipeline::Stage::BindBatch, pipeline::Stage::BindBatch);
  const Graph& bound = step.bound;
  double autodiff = msSince(t1);
  JitEngine jit(bound, o.codegen(bound));
  auto td = Clock::now();  // reading the data is not compilation
  Dataset ds = loadDataset(m.data, m.vocab);
  const Examples& train = ds[Split::Train];
  if (train.size() == 0) fail(fmt::format("netc bench: the training split of {} has no examples", ds.path));
  MinibatchSampler sampler(train, m, batch, o.seed);
  const double data = msSince(td);
  auto t2 = Clock::now();
  startTraining(jit, m, t);
  // A real minibatch even for the first step: all-zero contexts make every row alike, and a BatchNorm without
  // eps divides by their zero variance.
  sampler.feed(jit);
  jit.run();
  double first = msSince(t2);
  double compile = msSince(start) - data;
  // The yardstick is measured on both sides of the timed steps and the better taken: the machine's speed can
  // drift while the steps run.
  codegen::FmaPeak peak = codegen::measureFmaPeak();
  Timings steps = timeSteps(jit, sampler, o);
  codegen::FmaPeak after = codegen::measureFmaPeak();
  if (after.gflops > peak.gflops) peak = after;

  const auto& ct = jit.compileTimes();
  double flops = codegen::productFlops(bound);
  fmt::print("netc bench {}: batch {}, {} steps after {} warm-up, {} thread{}, {}\n", mo.model, batch, o.steps,
             o.warmup, jit.threads(), jit.threads() == 1 ? "" : "s", jit.targetDescription());
  fmt::print("compile (.net -> first step): {:.1f} ms  [front end {:.1f}, autodiff {:.1f}, plan {:.1f}, LLVM IR {:.1f}, "
             "LLVM {:.1f} on {} thread{} (CPU: optimise {:.1f}, machine code {:.1f}; link {:.1f}), init + first step "
             "{:.1f}]\n",
             compile, front, autodiff, ct.plan, ct.ir, ct.llvm.wall, ct.llvm.threads, ct.llvm.threads == 1 ? "" : "s",
             ct.llvm.optimize, ct.llvm.machineCode, ct.llvm.link, first);
  if (ct.llvm.cachedStep)
    fmt::print("  (the step's object code came from the object cache: no IR was built; NETC_CACHE_DIR=off compiles it)\n");
  fmt::print("step (sample minibatch + forward + backward + {}): median {:.1f} us, min {:.1f}, p90 {:.1f}\n",
             optimizerName(m.train.optimizer.kind), steps.median(), steps.us.front(), steps.p90());
  const double atMedian = flops / (steps.median() * 1e3), atMin = flops / (steps.us.front() * 1e3);
  fmt::print("{:.2f} MFLOP per step in matrix products: {:.2f} GFLOP/s at the median, {:.2f} at the min\n",
             flops / 1e6, atMedian, atMin);
  fmt::print("this core's FMA peak, measured in this run: {:.1f} GFLOP/s ({}-bit vectors); the step runs at {:.0f}% "
             "of it (median), {:.0f}% (min){}\n",
             peak.gflops, peak.vectorBits, 100 * atMedian / peak.gflops, 100 * atMin / peak.gflops,
             jit.threads() == 1 ? ""
                                : fmt::format("; {:.0f}% of {} cores' (median)", 100 * atMedian / (peak.gflops * jit.threads()),
                                              jit.threads()));
  if (jit.threads() > 1) {
    const double team = static_cast<double>(jit.team().teamSteps()), solo = static_cast<double>(jit.team().soloSteps());
    fmt::print("thread team: {:.0f}% of the steps ran on {} threads, the rest on one (it times both every {} steps)\n",
               100 * team / std::max(1.0, team + solo), jit.threads(), codegen::ThreadTeam::kEpoch);
  }
  double loss = jit.readScalar(t.loss);
  fmt::print("loss after {} steps: {:.4f}\n", o.steps + o.warmup + 1, loss);
  if (o.probes) printProbeCost(m, t, jit, train, o, steps.median());
  if (o.kernels) printKernelBreakdown(bound, m, train, t, o);
  return 0;
}

}  // namespace

void registerBench(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("bench", "time compilation and the compiled training step");
  auto opts = std::make_shared<ModelOptions>();
  auto bo = std::make_shared<BenchOptions>();
  opts->add(cmd);
  cmd->add_option("--batch", bo->batch, "batch size (default: the train section's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  // Every timed step's time is kept (for the median), so their number is bounded.
  cmd->add_option("--steps", bo->steps, "timed steps (default 2000)")->check(CLI::Range(int64_t{1}, kMaxBenchSteps));
  cmd->add_option("--warmup", bo->warmup, "untimed steps first (default 200)")
      ->check(CLI::Range(int64_t{0}, kMaxBenchSteps));
  cmd->add_option("--vector-bits", bo->vectorBits,
                  "vector width of the generated code: 128, 256 or 512 (default: the widest the CPU has)")
      ->check(CLI::IsMember({128u, 256u, 512u}));
  cmd->add_option("--threads", bo->threads,
                  "threads running each step (default: 2 or more where the model's products are big enough to "
                  "gain from them, see README Performance; 1 otherwise)")
      ->check(CLI::Range(1, codegen::kMaxThreads));
  cmd->add_flag("--probes", bo->probes,
                "also time the instrumented step that `netc run` takes every probe_every steps for its statistics");
  cmd->add_flag("--kernels", bo->kernels, "also time every kernel of the step (a separately compiled, counting build)");
  cmd->callback([&action, opts, bo] { action = [opts, bo] { return bench(*opts, *bo); }; });
}

}  // namespace netc::driver
