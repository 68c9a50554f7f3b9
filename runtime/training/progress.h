// What a training run shows while it goes: on a terminal, a progress bar redrawn in place about ten times a
// second (steps, loss, steps/s, time left); otherwise one plain line every log_every steps, which logs and
// CI output keep readable, and at least one every kLineInterval so a slow run (the interpreter at a large
// batch: a second a step) still shows it is alive. Either way, evaluation results get a line of their own.
// Once the first steps have taken kEstimateAfter, a run whose whole length is estimated at an hour or more
// gets a warning line with the estimate, even when quiet. Quiet shows nothing else.
#pragma once
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include "runtime/training/train_observer.h"

namespace netc {

class Progress final : public TrainObserver {
 public:
  enum class Mode { Bar, Lines, Quiet };
  using Clock = std::chrono::steady_clock;
  // The clock progress reads; tests pass a fake one to check the timing rules without waiting.
  using Now = std::function<Clock::time_point()>;
  static constexpr std::chrono::seconds kLineInterval{30};   // the longest gap between plain lines
  static constexpr std::chrono::seconds kEstimateAfter{2};   // when the length of the run is estimated
  static constexpr double kWarnSeconds = 3600;               // estimates from this up get a warning
  // Bar when stderr is a terminal, Lines when it is not, Quiet when asked.
  static Mode detect(bool quiet);

  Progress(Mode mode, int64_t steps, int64_t logEvery, std::FILE* out = stderr, Now now = Clock::now);
  void onStep(int64_t step, double loss, double lr) override;
  void onEval(int64_t done, const SplitLosses& losses) override;
  // Appended to the long-run warning: what would make this run faster ("--engine jit is ...").
  void setLongRunHint(std::string hint) { hint_ = std::move(hint); }
  // A line of its own (above the bar, which is redrawn after it).
  void note(std::string_view line);
  // A block of lines (the probe summary): like note, its newlines kept, every other control character escaped.
  void noteLines(std::string_view text);
  // Clears the bar; call before printing anything else to the same stream.
  void finish();

 private:
  void write(const std::string& line);  // the line (already made printable) between redraws of the bar
  void drawBar(int64_t step);
  void printLine(int64_t step, double loss, double lr, Clock::time_point now);
  void estimateLength(Clock::time_point now);
  void clearBar();
  double rate(Clock::time_point now) const;  // steps per second since the first step

  Mode mode_;
  int64_t steps_, logEvery_;
  std::FILE* out_;
  Now now_;
  Clock::time_point start_, lastDraw_, lastLine_;
  bool estimated_ = false;
  std::string hint_;
  int64_t startStep_ = -1, doneSteps_ = 0;
  double lossSum_ = 0;  // minibatch losses since the last redraw, shown as their mean
  int64_t lossCount_ = 0;
  double shownLoss_ = 0;
  bool barVisible_ = false;
};

// "1:02:03", "4:05" or "12.3s" for a duration in seconds.
std::string formatDuration(double seconds);
// "warning: at 1.0 steps/s, 200000 steps will take 55 h ...", or "" when the whole run would take less than
// Progress::kWarnSeconds at that rate.
std::string longRunWarning(int64_t steps, double stepsPerSecond);

}  // namespace netc
