// libFuzzer target for everything from a user's file to the storage plan: lexer, parser, lowering (constant
// folding, shape inference, the verifier), the graph printer, autodiff, and then what `netc run` does before
// it allocates anything, with the sizes the input chose: the batch bound into the training graph and its
// instrumented copy, the layout and the storage plan of both (whose int64 size sum once overflowed into a
// too-small arena), the dataset's examples at the input's context, and the learning-rate schedule up to its
// steps. Any input must either succeed or throw netc::Error; a crash, a sanitizer report, another
// exception, a hang, a leak, a plan whose buffers do not lie inside its arena, or a finding of the pipeline's
// verifiers (run after every pass) is a bug. Build and run:
// see tests/fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "lower/model.h"
#include "pipeline/pipeline.h"
#include "runtime/data/dataset.h"

namespace {

std::filesystem::path gDir;

// Every stored buffer (and the scratch and profile space) must lie inside the arena, without overlap from
// one buffer into the next: what the JIT engine relies on when it writes through the offsets.
void checkPlan(const netc::Graph& g, const netc::codegen::Plan& p) {
  int64_t end = 0;
  for (int v = 0; v < g.size(); ++v) {
    if (p.offset[v] < 0) continue;
    if (p.bytes[v] < 4 * netc::numel(g[v].shape) || p.offset[v] + p.bytes[v] + netc::codegen::kTailSlack > p.arenaBytes)
      __builtin_trap();
    end = std::max(end, p.offset[v] + p.bytes[v]);
  }
  if (end > p.scratchOffset || p.scratchOffset + p.scratchBytes > p.arenaBytes) __builtin_trap();
}

// The pipeline from bind-batch (from instrument, with `probes`) to plan, with every verifier after every pass:
// a verifier's finding is a bug in a pass, not a bad input, so it traps.
void plan(const netc::pipeline::Compiled& step, int64_t batch, const netc::InstrumentOptions* probes = nullptr) {
  static const netc::codegen::TargetInfo target{"", "", 8, 0};
  netc::pipeline::Options o;
  o.codegen.plan.profile = true;
  o.target = &target;
  o.batch = batch;
  o.verify = true;
  if (probes) o.probes = *probes;
  try {
    using netc::pipeline::Stage;
    netc::pipeline::Compiled c = netc::pipeline::resume({.model = step.model, .training = step.training}, o,
                                                        probes ? Stage::Instrument : Stage::BindBatch, Stage::Plan);
    checkPlan(c.code, c.plan);
  } catch (const netc::Error& e) {
    if (std::string_view(e.what()).find("after pass '") != std::string_view::npos) __builtin_trap();
    throw;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gDir = std::filesystem::temp_directory_path() / ("netc_fuzz_" + std::to_string(getpid()));
  std::filesystem::create_directories(gDir);
  // The dataset is fixed: a path from the input could name /dev/zero or a huge file.
  std::ofstream(gDir / "words.txt") << "emma\nolivia\nava\nisabella\nsophia\nzoe\nquinn\nxavier\njade\nkyle\n"
                                       "bob\nhugo\nwyatt\nfelix\nruby\nvera\nliam\n";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return -1;  // models are small; long inputs only slow the search down
  const std::string path = (gDir / "m.net").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  netc::LowerOptions opts;
  opts.dataOverride = (gDir / "words.txt").string();
  try {
    netc::Model generic = netc::loadModel(path, opts);
    std::string text = netc::printGraph(generic.graph);
    // Both forms specialise; the train form is what gets differentiated and planned.
    netc::pipeline::Options forms;
    forms.mode = netc::Mode::Eval;
    forms.verify = true;
    text += netc::printGraph(netc::pipeline::run(generic, forms, netc::pipeline::Stage::Specialize).model.graph);
    forms.mode = netc::Mode::Train;
    forms.optimizer = generic.train.optimizer;
    const netc::pipeline::Compiled step = netc::pipeline::run(generic, forms, netc::pipeline::Stage::Differentiate);
    const netc::Model& m = step.model;
    text += netc::printGraph(step.training->graph);
    if (text.empty()) __builtin_trap();
    // What `netc run` sizes from the input before its first allocation.
    netc::Dataset d = netc::loadDataset(m.data, m.vocab);
    if (d.context != m.data.context) __builtin_trap();
    if (!(m.train.learningRate(m.train.steps - 1) > 0)) __builtin_trap();
    plan(step, m.train.batch);
    netc::InstrumentOptions io;
    io.logits = m.logits;
    plan(step, m.train.batch, &io);
  } catch (const netc::Error&) {
    // the expected outcome for bad input
  }
  return 0;
}
