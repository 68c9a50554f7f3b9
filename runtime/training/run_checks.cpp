#include "runtime/training/run_checks.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <thread>

#include "ops/op.h"
#include "pipeline/pipeline.h"
#include "runtime/training/evaluator.h"

namespace netc {

namespace {

[[noreturn]] void failAt(const Model& m, const Node& n, const std::string& msg) {
  if (n.loc.line > 0) fail(m.graph.source, n.loc, msg);
  fail(fmt::format("{}: {}", m.name, msg));
}

// A sequence-form T set by one word far longer than the rest: T is the longest word + 1, and every example is
// padded to it. "Many times" is 4x the T that 99% of the words fit in.
void warnIfOneWordSetsT(const DataSpec& d) {
  if (d.form != DataForm::Sequence || !d.file || d.file->words.empty()) return;
  const auto& words = d.file->words;
  std::vector<size_t> lengths;
  lengths.reserve(words.size());
  for (const auto& w : words) lengths.push_back(w.size());
  const size_t at = (lengths.size() - 1) * 99 / 100;
  std::nth_element(lengths.begin(), lengths.begin() + static_cast<std::ptrdiff_t>(at), lengths.end());
  const int64_t typicalT = static_cast<int64_t>(lengths[at]) + 1;
  constexpr int64_t kFactor = 4;
  if (d.context <= kFactor * typicalT) return;
  size_t longest = 0;
  for (size_t i = 1; i < words.size(); ++i)
    if (words[i].size() > words[longest].size()) longest = i;
  warn(fmt::format("the longest word ({} characters, line {} of {}) makes the sequence form's T = {}, {:.0f}x the "
                   "T = {} that 99% of the words need: every example is padded to T, so each step does that much "
                   "more work; remove or shorten that line if it is not a word",
                   words[longest].size(), d.file->lines[longest], d.path, d.context,
                   static_cast<double>(d.context) / static_cast<double>(typicalT), typicalT));
}

void warnAboutSchedule(const TrainSpec& spec) {
  if (spec.warmup > spec.steps)
    warn(fmt::format("warmup = {} is longer than the run's {} steps: the learning rate is still rising when training "
                     "stops (it reaches {:.3g} of the rate)",
                     spec.warmup, spec.steps, static_cast<double>(spec.steps) / static_cast<double>(spec.warmup)));
  if (!spec.cosine) return;
  for (const auto& seg : spec.lr)
    if (spec.minLr > seg.lr) {
      warn(fmt::format("min_lr = {:g} is above the learning rate {:g}: the cosine decay raises the rate to min_lr "
                       "instead of lowering it",
                       spec.minLr, seg.lr));
      return;
    }
}

// Each batch size run binds a graph at: the shape rules that depend on it (var's correction below the count)
// hold at each, or bindBatch refuses, naming the value.
void bindEveryBatch(const Model& m, const TrainSpec& spec, const Dataset& d) {
  pipeline::Options o;
  o.optimizer = m.train.optimizer;
  o.batch = spec.batch;
  pipeline::run(m, o, pipeline::Stage::BindBatch);
  o = {.mode = Mode::Eval};
  const pipeline::Compiled eval = pipeline::run(m, o, pipeline::Stage::Specialize);
  std::set<int64_t> sizes = {1};  // sampling draws one word at a time
  for (Split s : {Split::Train, Split::Dev, Split::Test}) {
    const int64_t n = d[s].size();
    if (n == 0) continue;
    sizes.insert(std::min(n, kEvalBatch));
    if (n > kEvalBatch && n % kEvalBatch != 0) sizes.insert(n % kEvalBatch);
  }
  for (int64_t b : sizes) {
    o.batch = b;
    pipeline::resume({.model = eval.model}, o, pipeline::Stage::BindBatch, pipeline::Stage::BindBatch);
  }
}

}  // namespace

void checkTrainingInputs(const Model& m) {
  const Graph& g = m.graph;
  if (m.contextInput < 0 || m.targetInput < 0)
    fail(fmt::format("{}: training needs an int[B, T] context input and a cross_entropy(logits, y) in the minimized "
                     "value, whose y is the int[B] target input", m.name));
  const bool sequence = m.data.form == DataForm::Sequence;
  const Shape targetShape = sequence ? Shape{kBatch, m.data.context} : Shape{kBatch};
  const char* targetDecl = sequence ? "int[B, T]" : "int[B]";
  const Node& target = g[m.targetInput];
  if (!isInput(target))
    failAt(m, target,
           fmt::format("the target of cross_entropy is {}, but training writes the target characters into an input: "
                       "pass the {} input itself (e.g. `input y : {}`)",
                       g.describe(target.id), targetDecl, targetDecl));
  if (target.shape != targetShape)
    failAt(m, target,
           fmt::format("the target input '{}' is {}, but the {} form's examples have {} target{} each: declare it "
                       "`input {} : {}`",
                       target.name, shapeStr(target.shape), sequence ? "sequence" : "context",
                       sequence ? "T" : "one", sequence ? "s" : "", target.name, targetDecl));
  for (int id : g.inputs()) {
    const Node& in = g[id];
    if (in.dtype != DType::I32 || id == m.targetInput) continue;
    if (id != m.contextInput)
      failAt(m, in,
             fmt::format("the int input '{}' is fed by nothing: training writes the context into '{}' and the "
                         "targets into '{}' only",
                         in.name, g[m.contextInput].name, target.name));
    if (in.shape != Shape{kBatch, m.data.context})
      failAt(m, in,
             fmt::format("the context input '{}' is {}, but the data section's examples have T = {} characters of "
                         "context: declare it `input {} : int[B, T]`",
                         in.name, shapeStr(in.shape), m.data.context, in.name));
  }
  if (m.logits >= 0) {
    const Shape& ls = g[m.logits].shape;
    if (ls.empty() || ls.back() != m.vocab.size())
      failAt(m, g[m.logits],
             fmt::format("the logits {} are {}, but they need one column per vocabulary character ({})",
                         g.describe(m.logits), shapeStr(ls), m.vocab.size()));
  }
}

Dataset checkRun(const Model& m, const TrainSpec& spec, int threads) {
  checkTrainingInputs(m);
  Dataset d = loadDataset(m.data, m.vocab);
  bindEveryBatch(m, spec, d);
  warnIfOneWordSetsT(m.data);
  warnIfMoreThreadsThanCores(threads);
  warnAboutSchedule(spec);
  return d;
}

void warnIfMoreThreadsThanCores(int threads) {
  const unsigned cores = std::thread::hardware_concurrency();
  if (cores == 0 || threads <= static_cast<int>(cores)) return;
  warn(fmt::format("--threads {} is more than the {} cores of this machine: the threads take turns on the cores "
                   "and every step waits for the slowest; use --threads {} or fewer",
                   threads, cores, cores));
}

}  // namespace netc
