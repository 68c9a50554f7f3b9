// The probes during training: a TrainObserver that decodes the instrumented step's statistics at every probe
// step into the run folder's stats.jsonl, prints the summary and diagnoses at step 0 and at the end, and
// writes report.html when the run finishes (diverged or not).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lower/model.h"
#include "runtime/probes/diagnose.h"
#include "runtime/probes/stats.h"
#include "runtime/training/train_observer.h"

namespace netc {

// The instrumentation settings a model asks for: its saturation threshold, its logits, its first learning rate.
InstrumentOptions instrumentOptions(const Model& m, const TrainSpec& spec);

// `netc grad --stats`: decodes the statistics of its one batch (the step instrumented, run at lr 0), writes them to `path` (named by the user: OutputPath::Named; one record of the stats.jsonl schema, indented) and
// returns the summary with the step-0 diagnoses.
std::string writeOneBatchStats(Engine& e, const Model& m, const ProbePlan& plan, double loss, const std::string& path);

class StatsObserver final : public TrainObserver {
 public:
  // `folder`: where stats.jsonl and report.html go. `print`: where the summaries go (null: nowhere).
  // `continuesHistory`: the run resumes the one in `folder` (runtime/runs/run_history.h), whose kept history
  // (losses.csv, evals.csv, stats.jsonl) the report then starts with; stats.jsonl is appended to.
  StatsObserver(const Model& m, const TrainSpec& spec, const ProbePlan& plan, std::string folder,
                std::function<void(std::string_view)> print, bool continuesHistory = false);

  void onStep(int64_t step, double loss, double lr) override;
  void onProbe(Engine& e, int64_t step, double loss) override;
  void onEval(int64_t done, const SplitLosses& losses) override;
  // The end-of-run summary of the last collection, and report.html. Call once, after train() returned.
  void finish();

  const std::vector<StatsSnapshot>& snapshots() const { return snapshots_; }
  // The minibatch-loss points held for the report so far, and the room reserved for them (bounded, not one
  // per step: a 10^9-step run must not reserve 16 GB).
  const std::vector<std::pair<int64_t, double>>& lossCurve() const { return train_; }
  size_t lossCurveCapacity() const { return train_.capacity(); }
  std::string reportPath() const;
  std::string statsPath() const;

 private:
  void flushRun();
  void readHistory();
  const Model& model_;
  ProbePlan plan_;
  DiagnosisContext context_;
  std::string folder_;
  std::function<void(std::string_view)> print_;
  std::unique_ptr<StatsLog> log_;
  // Every collection goes to stats.jsonl; memory keeps at most kMaxSnapshots of them for the report, evenly
  // spread (when full, every second one goes and from then on only every stride_-th is kept), plus the latest.
  static constexpr size_t kMaxSnapshots = 4096;
  void keep(StatsSnapshot s);
  std::vector<StatsSnapshot> snapshots_;
  std::optional<StatsSnapshot> latest_;  // the newest collection when the stride skipped it
  int64_t collections_ = 0, stride_ = 1;
  // The minibatch losses for the report: every step up to kMaxCurvePoints steps, beyond that the means of
  // runs of per_ steps, so memory stays bounded whatever the number of steps (the page shows ~1000 points).
  static constexpr int64_t kMaxCurvePoints = 1'000'000;
  std::vector<std::pair<int64_t, double>> train_, dev_;
  int64_t per_ = 1, runStart_ = 0, runSteps_ = 0, runFinite_ = 0;
  double runSum_ = 0;
  std::vector<Finding> initial_;
  double lr_ = 0;
};

}  // namespace netc
