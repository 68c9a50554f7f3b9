// The folder a training run leaves behind (default runs/<model>-<YYYYmmdd-HHMMSS>/):
//   config.json         the resolved configuration: model and data paths, vocabulary, sizes, the train
//                       settings after command-line overrides, the engine, the seed, the starting weights
//   losses.csv          one line per step: `step,loss,lr` (0-based step; the minibatch loss before that
//                       step's update; the learning rate it used)
//   evals.csv           one line per evaluation: `done,split,loss` (after `done` updates; split is
//                       train, dev or test; the exact mean loss over the whole split)
//   weights.safetensors the last good weights: rewritten atomically at every checkpoint (each log_every,
//                       each evaluation, the end), so a diverged or interrupted run keeps its last good state
//   samples.txt         the words sampled at the end, one per line
//   result.json         written at the end: the step-0, final and split losses, steps done, wall time,
//                       and the divergence message and step when the run diverged (a loss that is not
//                       finite or exceeds divergenceLimit(), see trainer.h)
#pragma once
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/trainer.h"

namespace netc {

class RunFolder final : public TrainObserver {
 public:
  // runs/<model>-<YYYYmmdd-HHMMSS> under `root`, with -2, -3, ... appended when that folder already exists.
  static std::string defaultPath(const std::string& root, const std::string& model);
  // Creates the folder (and its parents); an existing folder is reused and its files replaced.
  explicit RunFolder(std::string path);
  ~RunFolder() override;
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const;
  void writeJson(const std::string& name, const nlohmann::json& j);  // atomically
  void writeSamples(const std::vector<std::string>& words);

  void onStep(int64_t step, double loss, double lr) override;
  void onEval(int64_t done, const SplitLosses& losses) override;
  void onCheckpoint(int64_t done, const WeightMap& weights) override;

 private:
  std::string path_;
  std::FILE* losses_ = nullptr;
  std::FILE* evals_ = nullptr;
};

// Reads weights for `m` from a safetensors file. When the file sits in a run folder whose config.json records
// a different vocabulary, that is the error (same-sized vocabularies would otherwise load and sample garbage);
// shape mismatches are reported by loadParams when the weights are written into an engine.
WeightMap loadWeightsFor(const Model& m, const std::string& path);

// The vocabulary and sizes section of config.json, shared by `netc run` and the check above.
nlohmann::json describeVocabulary(const Vocabulary& v);

}  // namespace netc
