// What a training run shows while it goes: on a terminal, a progress bar redrawn in place about ten times a
// second (steps, loss, steps/s, time left); otherwise one plain line every log_every steps, which logs and
// CI output keep readable. Either way, evaluation results get a line of their own. Quiet shows nothing.
#pragma once
#include <chrono>
#include <cstdio>
#include <string_view>

#include "runtime/trainer.h"

namespace netc {

class Progress final : public TrainObserver {
 public:
  enum class Mode { Bar, Lines, Quiet };
  // Bar when stderr is a terminal, Lines when it is not, Quiet when asked.
  static Mode detect(bool quiet);

  Progress(Mode mode, int64_t steps, int64_t logEvery, std::FILE* out = stderr);
  void onStep(int64_t step, double loss, double lr) override;
  void onEval(int64_t done, const SplitLosses& losses) override;
  // A line of its own (above the bar, which is redrawn after it).
  void note(std::string_view line);
  // Clears the bar; call before printing anything else to the same stream.
  void finish();

 private:
  using Clock = std::chrono::steady_clock;
  void drawBar(int64_t step);
  void clearBar();
  double rate(Clock::time_point now) const;  // steps per second since the first step

  Mode mode_;
  int64_t steps_, logEvery_;
  std::FILE* out_;
  Clock::time_point start_, lastDraw_;
  int64_t startStep_ = -1, doneSteps_ = 0;
  double lossSum_ = 0;  // minibatch losses since the last redraw, shown as their mean
  int64_t lossCount_ = 0;
  double shownLoss_ = 0;
  bool barVisible_ = false;
};

// "1:02:03", "4:05" or "12.3s" for a duration in seconds.
std::string formatDuration(double seconds);

}  // namespace netc
