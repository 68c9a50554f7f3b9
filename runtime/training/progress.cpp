#include "runtime/training/progress.h"

#include <cmath>
#include <fmt/format.h>
#include <unistd.h>

#include "support/diag.h"

namespace netc {

Progress::Mode Progress::detect(bool quiet) {
  if (quiet) return Mode::Quiet;
  return isatty(fileno(stderr)) ? Mode::Bar : Mode::Lines;
}

Progress::Progress(Mode mode, int64_t steps, int64_t logEvery, std::FILE* out, Now now)
    : mode_(mode), steps_(steps), logEvery_(logEvery > 0 ? logEvery : 1), out_(out), now_(std::move(now)) {}

std::string formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) return fmt::format("{:.1f}s", s);
  auto t = static_cast<int64_t>(std::lround(s));
  if (t < 3600) return fmt::format("{}:{:02}", t / 60, t % 60);
  return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
}

std::string longRunWarning(int64_t steps, double rate) {
  if (!(rate > 0)) return "";
  const double secs = static_cast<double>(steps) / rate;
  if (secs < Progress::kWarnSeconds) return "";
  return fmt::format("warning: at {} steps/s, {} steps will take {:.0f} h; fewer --steps or a smaller --batch "
                     "make it shorter",
                     rate >= 1 ? fmt::format("{:.1f}", rate) : fmt::format("{:.2g}", rate), steps, secs / 3600);
}

double Progress::rate(Clock::time_point now) const {
  double secs = std::chrono::duration<double>(now - start_).count();
  return secs > 0 && doneSteps_ > 0 ? static_cast<double>(doneSteps_) / secs : 0;
}

void Progress::onStep(int64_t step, double loss, double lr) {
  const auto now = now_();
  // The clock starts at the first step, so compiling does not count against steps/s.
  if (startStep_ < 0) startStep_ = step, start_ = lastDraw_ = lastLine_ = now;
  doneSteps_ = step - startStep_;
  estimateLength(now);
  if (mode_ == Mode::Quiet) return;
  if (mode_ == Mode::Lines) {
    // Every log_every steps, the last step, and whenever kLineInterval passed without a line.
    if (step % logEvery_ == 0 || step + 1 == steps_ || now - lastLine_ >= kLineInterval) printLine(step, loss, lr, now);
    return;
  }
  lossSum_ += loss, ++lossCount_;
  if (now - lastDraw_ >= std::chrono::milliseconds(100) || step + 1 == steps_ || step == 0) {
    lastDraw_ = now;
    shownLoss_ = lossSum_ / static_cast<double>(lossCount_);
    lossSum_ = 0, lossCount_ = 0;
    drawBar(step + 1);
  }
}

void Progress::printLine(int64_t step, double loss, double lr, Clock::time_point now) {
  lastLine_ = now;
  double r = rate(now);
  fmt::print(out_, "step {:>{}}/{}  loss {:.4f}  lr {:g}  {:.{}f} steps/s  {} left\n", step,
             fmt::formatted_size("{}", steps_), steps_, loss, lr, r, r < 10 ? 1 : 0,
             r > 0 ? formatDuration(static_cast<double>(steps_ - step) / r) : "?");
  std::fflush(out_);
}

// Once, as soon as the steps since the first have taken kEstimateAfter: a run of hours says so while it can
// still be stopped and changed, rather than after a silent night.
void Progress::estimateLength(Clock::time_point now) {
  if (estimated_ || doneSteps_ == 0 || now - start_ < kEstimateAfter) return;
  estimated_ = true;
  std::string warning = longRunWarning(steps_, rate(now));
  if (warning.empty()) return;
  if (!hint_.empty()) warning += ", and " + hint_;
  if (mode_ == Mode::Quiet) {
    fmt::print(out_, "{}\n", warning);
    std::fflush(out_);
  } else {
    note(warning);
  }
}

void Progress::drawBar(int64_t done) {
  constexpr int kWidth = 30;
  const int filled = steps_ > 0 ? static_cast<int>(kWidth * done / steps_) : kWidth;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  double r = rate(now_());
  // \r returns to the line start and \x1b[K clears what a longer previous line left behind.
  fmt::print(out_, "\r[{}] {}/{}  loss {:.4f}  {:.0f} steps/s  {} left\x1b[K", bar, done, steps_, shownLoss_, r,
             r > 0 ? formatDuration(static_cast<double>(steps_ - done) / r) : "?");
  std::fflush(out_);
  barVisible_ = true;
}

void Progress::clearBar() {
  if (!barVisible_) return;
  fmt::print(out_, "\r\x1b[K");
  barVisible_ = false;
}

void Progress::onEval(int64_t done, const SplitLosses& l) {
  std::string line = fmt::format("eval after {} steps:", done);
  for (Split s : {Split::Train, Split::Dev, Split::Test})
    if (!std::isnan(l[s])) line += fmt::format("  {} {:.4f}", splitName(s), l[s]);
  note(line);
}

void Progress::note(std::string_view line) { write(printable(line)); }  // notes quote file names and paths

void Progress::noteLines(std::string_view text) { write(printable(text, /*keepNewlines=*/true)); }

void Progress::write(const std::string& line) {
  if (mode_ == Mode::Quiet) return;
  bool redraw = barVisible_;
  clearBar();
  fmt::print(out_, "{}\n", line);
  if (redraw) drawBar(doneSteps_ + startStep_ + 1);
  std::fflush(out_);
}

void Progress::finish() {
  if (mode_ == Mode::Bar && barVisible_) {
    fmt::print(out_, "\n");
    barVisible_ = false;
  }
  std::fflush(out_);
}

}  // namespace netc
