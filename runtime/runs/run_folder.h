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
//   result.json         written at the end: the step-0, final and split losses, steps done, wall time
//                       (train_seconds; step_seconds, eval_seconds, final_eval_seconds: the parts),
//                       and the divergence message and step when the run diverged (a loss that is not
//                       finite or exceeds divergenceLimit(), see runtime/training/trainer.h)
//   stats.jsonl, report.html   the probe statistics (runtime/runs/stats_observer.h)
//   .netc.lock          the folder's lock (below); left in place, it holds no data
//
// The rules of a run folder, so that results are never lost or mixed:
//   - One run at a time: opening takes an exclusive flock on .netc.lock for the run's life, so a second
//     `netc run` into the same folder fails at once, naming the process that holds it. The kernel drops the
//     lock when the process ends, kill -9 included.
//   - A folder that holds another run's results (any of the files above) is refused, unless `--force`, which
//     removes those files (only those names) first: a new run never leaves old weights beside its own
//     config.json. The one exception is the weights file the run starts from (--init-from DIR/weights.safetensors):
//     it stays until the run's first checkpoint replaces it by rename, so the folder always holds weights.
//   - Resuming in place: `--init-from DIR/weights.safetensors --resume --out DIR` (with or without --force)
//     continues the run in DIR, keeping its history up to the resumed step (runtime/runs/run_history.h). It works
//     because `netc run` reads its inputs (model, data, starting weights, and config.json for the vocabulary
//     check) completely before it opens the folder; the model and data files may never be one of the run's files.
//   - Every file is written through runtime/files/atomic_file.h: whole files atomically and fsynced, the CSVs and
//     stats.jsonl appended in whole lines and fsynced at every checkpoint. A write that fails (a full disk)
//     is an error naming the file and the reason, and the run exits 1 without saying "saved". No file is
//     written through a symbolic link: a link (or a FIFO, a device) in place of one of the files, or of
//     .netc.lock, is refused, so a link planted in a shared runs folder cannot redirect a write.
//   - Once the folder is accepted, temporaries a killed writer left behind (".NAME.tmpXXXXXX" for NAME among
//     the files above, nothing else) are removed; losses.csv, evals.csv and stats.jsonl may then end in a
//     partial line, which readers drop (readCompleteLines()).
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/files/atomic_file.h"
#include "runtime/training/train_observer.h"

namespace netc {

class RunFolder final : public TrainObserver {
 public:
  struct Options {
    bool force = false;                // replace another run's results instead of refusing the folder
    std::vector<CommandInput> inputs;  // files the run reads, which must not be among the files it writes
    std::string startWeights;          // --init-from: when it is this folder's weights file, it is kept
    int64_t resumeAt = -1;             // --resume: the steps its weights record; with startWeights in this
                                       // folder, the history up to there is kept (continuesHistory())
    bool resumeEvaluatesFirst = false;  // the resumed run has no step left (resumeAt is its last): it evaluates
                                        // its weights again, replacing the evaluation recorded at resumeAt
  };
  // runs/<model>-<YYYYmmdd-HHMMSS> under `root`, with -2, -3, ... appended when that folder already exists.
  // The folder is created here (one mkdir, which fails when it exists), so two runs started in the same
  // second never pick the same one.
  static std::string defaultPath(const std::string& root, const std::string& model);
  // Creates the folder (and its parents), locks it, refuses it when an input is one of its files or when it
  // holds another run's results (or, with force, removes them; or, resuming in place, keeps the history up to
  // the resumed step), removes stale temporaries, and starts (or continues) the CSVs.
  explicit RunFolder(std::string path);  // with the default Options
  RunFolder(std::string path, const Options& options);
  ~RunFolder() override;
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;

  const std::string& path() const { return path_; }
  // Whether this run continues the history of the run in the folder (resumed in place, see above).
  bool continuesHistory() const { return continues_; }
  std::string file(const std::string& name) const;
  void writeJson(const std::string& name, const nlohmann::json& j);  // atomically
  void writeSamples(const std::vector<std::string>& words);  // atomically
  // Flushes, fsyncs and closes losses.csv and evals.csv, reporting any write error. Call before result.json.
  void finish();
  // "process N" when a live process holds `folder`'s lock (a `netc run` into it is going on), else "".
  static std::string heldBy(const std::string& folder);
  // The files a run writes, for the checks above.
  static const std::vector<std::string>& runFiles();

  void onStep(int64_t step, double loss, double lr) override;
  void onEval(int64_t done, const SplitLosses& losses) override;
  void onCheckpoint(int64_t done, const WeightMap& weights) override;

 private:
  void lock();
  void checkInputs(const std::vector<CommandInput>& inputs) const;
  void clearOrRefuse(bool force, bool keepWeights) const;

  // Closed on every way out, a constructor that throws included; declared before the files, so it goes last.
  struct LockFd {
    int fd = -1;
    LockFd() = default;
    LockFd(const LockFd&) = delete;
    LockFd& operator=(const LockFd&) = delete;
    ~LockFd();
  };
  std::string path_;
  bool continues_ = false;
  LockFd lock_;
  AppendFile losses_, evals_;
};

// The config.json of the run folder a weights file sits in, or none when there is no such file (weights on their
// own). Throws naming the file when it is not a regular file, too large, not JSON or has a key twice.
std::optional<nlohmann::json> configBeside(const std::string& weightsPath);

// Reads weights for `m` from a safetensors file. When the file sits in a run folder whose config.json records
// a different vocabulary, that is the error (same-sized vocabularies would otherwise load and sample garbage);
// shape mismatches are reported by loadParams when the weights are written into an engine.
WeightMap loadWeightsFor(const Model& m, const std::string& path);

// The vocabulary and sizes section of config.json, shared by `netc run` and the check above.
nlohmann::json describeVocabulary(const Vocabulary& v);

}  // namespace netc
