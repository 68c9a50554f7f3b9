#include "runtime/runs/stats_observer.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <limits>

#include "runtime/files/atomic_file.h"
#include "runtime/pages/report.h"
#include "runtime/runs/run_history.h"
#include "runtime/probes/stats_summary.h"

namespace netc {

InstrumentOptions instrumentOptions(const Model& m, const TrainSpec& spec) {
  InstrumentOptions o;
  o.saturation = spec.saturation;
  o.logits = m.logits;
  o.lr = spec.learningRate(0);
  o.stepIsLrTimesGrad = spec.optimizer.kind == OptimizerSpec::Sgd;
  return o;
}

std::string writeOneBatchStats(Engine& e, const Model& m, const ProbePlan& plan, double loss, const std::string& path) {
  StatsSnapshot s = readStats(e, plan, 0, loss, m.train.learningRate(0));
  writeFileAtomically(path, toJson(s).dump(2) + "\n", OutputPath::Named);  // --stats PATH
  return formatSummary(s, diagnose(s, diagnosisContext(plan, m.vocab.size()), /*initial=*/true), "this batch");
}

StatsObserver::StatsObserver(const Model& m, const TrainSpec& spec, const ProbePlan& plan, std::string folder,
                             std::function<void(std::string_view)> print, bool continuesHistory)
    : model_(m), plan_(plan), context_(diagnosisContext(plan, m.vocab.size())), folder_(std::move(folder)),
      print_(std::move(print)) {
  lr_ = spec.learningRate(0);  // a --steps 0 run probes without a step
  const int64_t steps = std::max<int64_t>(spec.steps, 0);
  per_ = std::max<int64_t>(1, (steps + kMaxCurvePoints - 1) / kMaxCurvePoints);
  train_.reserve(static_cast<size_t>(steps / per_ + 1));  // onStep must not allocate
  if (continuesHistory) readHistory();
  log_ = std::make_unique<StatsLog>(statsPath(), continuesHistory ? OpenMode::Keep : OpenMode::Truncate);
}

// The kept history of the run this one resumes, as if this observer had seen it: its losses, dev losses and
// collections (step 0's diagnoses among them) go into the report over the whole run.
void StatsObserver::readHistory() {
  for (const auto& [step, loss] : readLossHistory(folder_)) onStep(step, loss, lr_);
  dev_ = readDevHistory(folder_);
  // Absent when the earlier part ran with --no-stats. One record at a time: keep() bounds what stays in memory.
  forEachStatsRecord(folder_, [this](StatsSnapshot s) {
    if (s.step == 0) initial_ = diagnose(s, context_, /*initial=*/true);
    keep(std::move(s));
  });
}

std::string StatsObserver::reportPath() const { return (std::filesystem::path(folder_) / "report.html").string(); }
std::string StatsObserver::statsPath() const { return (std::filesystem::path(folder_) / "stats.jsonl").string(); }

void StatsObserver::onStep(int64_t step, double loss, double lr) {
  lr_ = lr;
  if (per_ == 1) {
    train_.emplace_back(step, loss);
    return;
  }
  if (runSteps_ == 0) runStart_ = step;
  if (std::isfinite(loss)) runSum_ += loss, ++runFinite_;
  if (++runSteps_ == per_) flushRun();
}

// The mean of the run of steps gathered so far (NaN when none of its losses was finite; the report skips it).
void StatsObserver::flushRun() {
  if (runSteps_ == 0) return;
  train_.emplace_back(runStart_, runFinite_ > 0 ? runSum_ / static_cast<double>(runFinite_)
                                                : std::numeric_limits<double>::quiet_NaN());
  runSteps_ = runFinite_ = 0, runSum_ = 0;
}

void StatsObserver::onProbe(Engine& e, int64_t step, double loss) {
  // onStep of this step ran just before, so lr_ is this step's learning rate.
  StatsSnapshot s = readStats(e, plan_, step, loss, lr_);
  log_->append(s);
  if (step == 0) {
    initial_ = diagnose(s, context_, /*initial=*/true);
    std::string text = formatSummary(s, initial_, "step 0 (initialisation)");
    if (print_) print_(std::string_view(text).substr(0, text.size() - 1));  // the printer adds the newline
  }
  keep(std::move(s));
}

void StatsObserver::keep(StatsSnapshot s) {
  if (collections_++ % stride_ != 0) {
    latest_ = std::move(s);
    return;
  }
  latest_.reset();
  if (snapshots_.size() >= kMaxSnapshots) {
    std::vector<StatsSnapshot> half;
    for (size_t i = 0; i < snapshots_.size(); i += 2) half.push_back(std::move(snapshots_[i]));
    snapshots_ = std::move(half);
    stride_ *= 2;
  }
  snapshots_.push_back(std::move(s));
}

void StatsObserver::onEval(int64_t done, const SplitLosses& losses) {
  if (!std::isnan(losses[Split::Dev])) dev_.emplace_back(done, losses[Split::Dev]);
}

void StatsObserver::finish() {
  if (latest_) snapshots_.push_back(std::move(*latest_)), latest_.reset();  // the last collection is always shown
  std::vector<Finding> final;
  if (!snapshots_.empty() && snapshots_.back().step > 0) {
    const StatsSnapshot& last = snapshots_.back();
    final = diagnose(last, context_, /*initial=*/false);
    std::string text = formatSummary(last, final, fmt::format("step {} (the last collection)", last.step));
    if (print_) print_(std::string_view(text).substr(0, text.size() - 1));
  }
  flushRun();
  ReportData d;
  d.model = model_.name;
  d.vocab = model_.vocab.size();
  d.train = train_;
  d.dev = dev_;
  d.snapshots = snapshots_;
  d.initialFindings = initial_;
  d.finalFindings = final;
  log_->close();  // stats.jsonl complete and fsynced, or the error naming it
  writeReport(reportPath(), d);
  if (print_) print_(fmt::format("statistics: {} and {}", statsPath(), reportPath()));
}

}  // namespace netc
