// A lowered .net file: the forward graph plus the settings of its data, train and sample sections.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autodiff/optimizer.h"
#include "graph/graph.h"
#include "lower/vocab.h"
#include "support/sizes.h"

namespace netc {

// Which generator shuffles the words before the split: netc's own (runtime/random/rng.h), or CPython's
// random.seed(seed); random.shuffle(words), as makemore and the lecture split them (runtime/random/python_random.h).
enum class Shuffle { Netc, Python };

// Which generator draws the initial weights and the minibatches: netc's own, or PyTorch's CPU generator,
// torch.Generator().manual_seed(seed), drawing what the lecture's script draws (runtime/random/torch_generator.h).
enum class Generator { Netc, Torch };

// How words become examples: `context` (makemore's MLP: one example per character, its T predecessors as
// context) or `sequence` (makemore.py's RNN and GRU: one example per word, a target at every position).
enum class DataForm { Context, Sequence };

struct DataSpec {
  DataForm form = DataForm::Context;
  std::string path;      // resolved against the .net file's folder (or --data)
  // The words of `path`, read exactly once by lowering (the vocabulary) and used again by loadDataset: a FIFO
  // or /dev/stdin can be read only once.
  std::shared_ptr<const WordFile> file;
  SrcLoc loc;
  int64_t context = 3;   // T, the block size
  double split[3] = {0.8, 0.1, 0.1};
  uint64_t seed = 42;
  Shuffle shuffle = Shuffle::Netc;
};

struct LrSegment {
  double lr;
  int64_t until;  // steps [previous until, until) use lr; -1 = to the end
};

struct TrainSpec {
  int64_t steps = 1000;
  int64_t batch = 32;
  std::vector<LrSegment> lr{{0.1, -1}};
  uint64_t seed = 2147483647;
  Generator generator = Generator::Netc;
  // The second stream, which draws the declarations marked `global` (a script's torch.manual_seed(globalSeed)
  // default generator beside its named one). Required when a declaration is marked: PyTorch seeds its default
  // generator from the system's entropy until torch.manual_seed is called, so there is no default to copy.
  std::optional<uint64_t> globalSeed;
  int64_t logEvery = 1000;
  int64_t evalEvery = 0;     // 0: evaluate at the end only
  int64_t probeEvery = 1000;
  double saturation = 0.97;  // |t| above this counts as saturated in the share
  OptimizerSpec optimizer;
  // Learning-rate schedule on top of the steps of `lr`: a linear warmup from 0 over `warmup` steps, then (with
  // cosine) a cosine decay from the scheduled rate to minLr at the last step.
  int64_t warmup = 0;
  bool cosine = false;
  double minLr = 0;
  double learningRate(int64_t step) const;
};

struct SampleSpec {
  int64_t count = 20;
  uint64_t seed = 2147483657;
};

struct Model {
  std::string name;  // file stem
  Graph graph;
  DataSpec data;
  Vocabulary vocab;
  TrainSpec train;
  SampleSpec sample;
  std::map<std::string, double> constants;
  int contextInput = -1;  // x: int[B, T]
  int targetInput = -1;   // y: int[B]
  int logits = -1;        // the cross-entropy's logits, used for sampling
  int dataLoss = -1;      // the cross-entropy in the minimized value (graph.loss itself when that is all of it)
};

struct LowerOptions {
  std::string dataOverride;  // --data: replaces the path in the data section
  std::vector<std::string> overrides;  // --set NAME=VALUE, applied to the syntax tree (lower/overrides.h)
};

// Parses and lowers a .net file into a shape-checked, verified forward graph.
Model loadModel(const std::string& path, const LowerOptions& opts = {});

}  // namespace netc
