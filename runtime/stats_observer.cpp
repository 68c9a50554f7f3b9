#include "runtime/stats_observer.h"

#include <filesystem>
#include <fmt/format.h>

#include "runtime/atomic_file.h"
#include "runtime/report.h"
#include "runtime/stats_summary.h"

namespace netc {

InstrumentOptions instrumentOptions(const Model& m, const TrainSpec& spec) {
  InstrumentOptions o;
  o.saturation = spec.saturation;
  o.logits = m.logits;
  o.lr = spec.learningRate(0);
  return o;
}

Instrumented instrumentOneBatch(const Model& m, const TrainingGraph& t) {
  return instrument(t.graph, t.grads, t.updates, /*lrNode=*/-1, instrumentOptions(m, m.train));
}

std::string writeOneBatchStats(Engine& e, const Model& m, const ProbePlan& plan, double loss, const std::string& path) {
  StatsSnapshot s = readStats(e, plan, 0, loss, m.train.learningRate(0));
  writeFileAtomically(path, toJson(s).dump(2) + "\n");
  return formatSummary(s, diagnose(s, diagnosisContext(plan, m.vocab.size()), /*initial=*/true), "this batch");
}

StatsObserver::StatsObserver(const Model& m, const TrainSpec& spec, const ProbePlan& plan, std::string folder,
                             std::function<void(std::string_view)> print)
    : model_(m), plan_(plan), context_(diagnosisContext(plan, m.vocab.size())), folder_(std::move(folder)),
      print_(std::move(print)) {
  log_ = std::make_unique<StatsLog>(statsPath());
  train_.reserve(static_cast<size_t>(std::max<int64_t>(spec.steps, 0)));  // onStep must not allocate
}

std::string StatsObserver::reportPath() const { return (std::filesystem::path(folder_) / "report.html").string(); }
std::string StatsObserver::statsPath() const { return (std::filesystem::path(folder_) / "stats.jsonl").string(); }

void StatsObserver::onStep(int64_t step, double loss, double lr) {
  train_.emplace_back(step, loss);
  lr_ = lr;
}

void StatsObserver::onProbe(Engine& e, int64_t step, double loss) {
  // onStep of this step ran just before, so lr_ is this step's learning rate.
  snapshots_.push_back(readStats(e, plan_, step, loss, lr_));
  log_->append(snapshots_.back());
  if (step == 0) {
    initial_ = diagnose(snapshots_.back(), context_, /*initial=*/true);
    std::string text = formatSummary(snapshots_.back(), initial_, "step 0 (initialisation)");
    if (print_) print_(std::string_view(text).substr(0, text.size() - 1));  // the printer adds the newline
  }
}

void StatsObserver::onEval(int64_t done, const SplitLosses& losses) {
  if (!std::isnan(losses[Split::Dev])) dev_.emplace_back(done, losses[Split::Dev]);
}

void StatsObserver::finish() {
  std::vector<Finding> final;
  if (!snapshots_.empty() && snapshots_.back().step > 0) {
    const StatsSnapshot& last = snapshots_.back();
    final = diagnose(last, context_, /*initial=*/false);
    std::string text = formatSummary(last, final, fmt::format("step {} (the last collection)", last.step));
    if (print_) print_(std::string_view(text).substr(0, text.size() - 1));
  }
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
