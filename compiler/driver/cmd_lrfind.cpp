// netc lr-find MODEL.net: the makemore lecture's learning-rate finder (part 2). Learning rates 10^-3 .. 10^0,
// log-spaced, one training step each (from the initialised weights, training as it goes), loss against the
// exponent; lr_find.csv, lr_find.html (the plot) and a suggested rate: where the smoothed loss is lowest, if it
// fell at all before the loss diverged (suggestRate). With no usable rate the files are written and the
// command fails (exit 1), saying why.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <optional>

#include "driver/command.h"
#include "runtime/files/atomic_file.h"
#include "runtime/data/dataset.h"
#include "runtime/pages/page_template.h"
#include "runtime/training/trainer.h"

namespace netc::driver {

namespace {

namespace fs = std::filesystem;

struct LrFindOptions {
  ModelOptions model;
  int64_t steps = 1000;
  double from = -3, to = 0;
  std::optional<int64_t> batch;
  std::optional<uint64_t> seed;
  std::string out;
};

class Recorder final : public TrainObserver {
 public:
  std::vector<double> loss;
  void onStep(int64_t, double l, double) override { loss.push_back(l); }
};

// The suggestion, from the losses recorded before any divergence (the trainer stops at the first non-finite
// loss or one above its divergence limit, so every recorded loss is finite and every rate after the last one
// is a rate at which training diverged).
struct Suggestion {
  std::vector<double> smooth;  // the centred moving mean; NaN where its window is not wholly recorded
  std::optional<size_t> best;  // the suggested step, or none
  std::string whyNone;         // when none: why, in words
  bool tooFew = false;         // none because too few steps were recorded for one moving mean
};

// The lecture reads the curve by eye; here a centred moving mean over 5% of the steps, its minimum suggested.
// A moving mean is computed only where its whole window was recorded, so it never reaches past a divergence,
// and the minimum is suggested only when it is below where the mean started: a curve that only rose (every
// rate too high) suggests nothing.
Suggestion suggestRate(const std::vector<double>& loss) {
  Suggestion s;
  const int64_t n = static_cast<int64_t>(loss.size());
  const int64_t half = std::max<int64_t>(1, n / 40);
  s.smooth.assign(loss.size(), NAN);
  std::optional<size_t> first;
  for (int64_t i = half; i + half < n; ++i) {
    double sum = 0;
    for (int64_t j = i - half; j <= i + half; ++j) sum += loss[j];
    s.smooth[i] = sum / static_cast<double>(2 * half + 1);
    if (!first) first = i;
    if (!s.best || s.smooth[i] < s.smooth[*s.best]) s.best = i;
  }
  if (!first) {
    s.whyNone = fmt::format("{} steps ran, too few for a moving mean over {} steps", n, 2 * half + 1);
    s.tooFew = true;
  } else if (!std::isfinite(s.smooth[*s.best]) || !(s.smooth[*s.best] < s.smooth[*first])) {
    s.whyNone = fmt::format("the smoothed loss never fell below where it started ({:.4g})", s.smooth[*first]);
    s.best.reset();
  }
  return s;
}

// The plot as inline SVG; `title` is plain text (escaped here). With no suggestion, no marker is drawn.
std::string plot(const std::vector<double>& ex, const std::vector<double>& loss, const std::vector<double>& smooth,
                 std::optional<double> best, const std::string& title) {
  const int W = 720, H = 400, L = 56, R = 12, T = 28, B = 40;
  double y0 = 1e300, y1 = -1e300;
  for (double v : loss)
    if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  if (!(y1 > y0)) y0 = std::isfinite(y0) && y0 < 1e300 ? y0 - 1 : 0, y1 = y0 + 2;
  const double x0 = ex.empty() ? 0 : ex.front(), x1 = !ex.empty() && ex.back() > ex.front() ? ex.back() : x0 + 1;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">", W, H);
  s += fmt::format("<text x=\"{}\" y=\"16\" font-size=\"13\">{}</text>", L, page::htmlText(title));
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>", L, T, W - L - R, H - T - B);
  for (int i = 0; i <= 4; ++i) {
    double y = y0 + (y1 - y0) * i / 4, x = x0 + (x1 - x0) * i / 4;
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{:.3g}</text>", L - 4, Y(y) + 4, y);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{:.2g}</text>", X(x), H - B + 15, x);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">log10(learning rate)</text>", (L + W - R) / 2, H - 6);
  auto path = [&](const std::vector<double>& v, const char* color, double width) {
    std::string d;
    for (size_t i = 0; i < v.size(); ++i)
      if (std::isfinite(v[i])) d += fmt::format("{}{:.1f},{:.1f}", d.empty() ? "M" : "L", X(ex[i]), Y(v[i]));
    return fmt::format("<path class=\"series\" d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"/>", d, color, width);
  };
  s += path(loss, "#9ab", 1) + path(smooth, "#d62728", 2);
  if (best)
    s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#2ca02c\" stroke-dasharray=\"4,3\"/>", X(*best), T, H - B);
  return s + "</svg>";
}

const char* const kPage = R"PAGE(<!doctype html><html><head><meta charset="utf-8"><title>netc lr-find: @MODEL@</title></head><body data-figures-drawn="1">
@PLOT@
<p>@SUMMARY@</p></body></html>
)PAGE";

// --from and --to: log10 of rates that are finite and above zero.
double checkExponent(const char* flag, double v) {
  if (!(v >= -20 && v <= 20)) usageFail(fmt::format("{} is log10 of a learning rate and must be from -20 to 20, found {}", flag, v));
  return v;
}

int lrFind(const LrFindOptions& o) {
  Model m = o.model.load();
  TrainSpec spec = m.train;
  spec.steps = checkFlag("--steps", o.steps, 2, 1'000'000);
  if (o.batch) spec.batch = checkBatchFlag(m.graph, *o.batch);
  if (o.seed) spec.seed = *o.seed;
  const double from = checkExponent("--from", o.from), to = checkExponent("--to", o.to);
  if (!(from < to)) usageFail(fmt::format("--from must be below --to, found {} and {}", from, to));
  const std::string dir = o.out.empty() ? (fs::path("runs") / (m.name + "-lr-find")).string() : o.out;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    fail(fmt::format("--out '{}' is a file; lr-find writes lr_find.csv and lr_find.html into a folder", dir));
  const std::string csvPath = (fs::path(dir) / "lr_find.csv").string(), htmlPath = (fs::path(dir) / "lr_find.html").string();
  const std::vector<CommandInput> inputs = {{"the model file", o.model.model}, {"the data file", m.data.path}};
  refuseToOverwriteInput("--out", csvPath, inputs);
  refuseToOverwriteInput("--out", htmlPath, inputs);
  std::vector<double> ex(spec.steps);
  spec.lr.clear();
  for (int64_t i = 0; i < spec.steps; ++i) {
    ex[i] = from + (to - from) * static_cast<double>(i) / static_cast<double>(spec.steps - 1);
    spec.lr.push_back({std::pow(10.0, ex[i]), i + 1 < spec.steps ? i + 1 : -1});
  }
  spec.warmup = 0, spec.cosine = false;
  spec.evalEvery = 0, spec.logEvery = spec.steps, spec.probeEvery = spec.steps;
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer trainer(m, spec, EngineKind::Jit);
  Recorder rec;
  TrainResult r = trainer.train(d, {&rec});
  const size_t n = rec.loss.size();
  const Suggestion sug = suggestRate(rec.loss);
  const std::optional<double> bestEx = sug.best ? std::optional(ex[*sug.best]) : std::nullopt;
  // The loss of step k is computed before its update: the rate that made it diverge is step k-1's. At step 0
  // no update had happened: the starting weights gave the non-finite loss, and no rate is to blame.
  const bool atStart = r.diverged && r.divergedStep <= 0;
  const double divergedLr = std::pow(10.0, ex[std::clamp<int64_t>(r.divergedStep - 1, 0, spec.steps - 1)]);
  const std::string divergence =
      !r.diverged ? ""
      : atStart   ? "the loss at step 0, before any update, is not finite (the model or its initialisation, not a rate)"
                  : fmt::format("the loss diverged at step {} (after a step at lr {:.3g})", r.divergedStep, divergedLr);
  const std::string advice = atStart      ? "look at the model's first step with `netc run MODEL --steps 0`"
                             : sug.tooFew ? "give more --steps"
                                          : "try a lower --from";
  const std::string stopped = r.diverged ? ", stopped when " + divergence : "";
  fs::create_directories(dir);
  std::string csv = "step,exponent,lr,loss,smoothed\n";
  for (size_t i = 0; i < n; ++i) csv += fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g}\n", i, ex[i], std::pow(10.0, ex[i]), rec.loss[i], sug.smooth[i]);
  writeFileAtomically(csvPath, csv);
  const std::string verdict = bestEx ? fmt::format("lowest smoothed at 10^{:.2f} = {:.3g}", *bestEx, std::pow(10.0, *bestEx))
                                     : "no rate suggested";
  const std::string title = fmt::format("{}: loss against log10(lr), one step each; {}", m.name, verdict);
  std::vector<double> exShown(ex.begin(), ex.begin() + static_cast<std::ptrdiff_t>(n));
  const std::string summary =
      fmt::format("{} steps, learning rate 10^{} .. 10^{}{}. ", n, from, to, stopped) +
      (bestEx ? fmt::format("Suggested: {:.3g} (the minimum of the moving mean; the lecture takes the valley before the loss "
                            "turns unstable).", std::pow(10.0, *bestEx))
              : fmt::format("No rate is suggested: {}; {}.", sug.whyNone, advice));
  writeFileAtomically(htmlPath, page::fillTemplate(kPage, {{"MODEL", page::htmlText(m.name)},
                                                           {"PLOT", plot(exShown, rec.loss, sug.smooth, bestEx, title)},
                                                           {"SUMMARY", page::htmlText(summary)}}));
  fmt::print("lr-find: {} steps from 10^{} to 10^{}{}\n", n, from, to,
             r.diverged ? " (" + divergence + ")" : "");
  fmt::print("saved in {}/ (lr_find.csv, lr_find.html)\n", printable(dir));
  if (!bestEx)
    fail(fmt::format("lr-find found no usable learning rate from 10^{} to 10^{}: {}{}; {}", from, to, sug.whyNone,
                     r.diverged ? ", and " + divergence : "", advice));
  fmt::print("suggested learning rate {:.3g} (10^{:.2f}): lowest smoothed loss {:.4f}\n", std::pow(10.0, *bestEx), *bestEx,
             sug.smooth[*sug.best]);
  return 0;
}

}  // namespace

void registerLrFind(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("lr-find", "the lecture's learning-rate finder: loss against log10(lr), one step per rate");
  auto o = std::make_shared<LrFindOptions>();
  o->model.add(cmd);
  cmd->add_option("--steps", o->steps, "steps (one learning rate each; default 1000)");
  cmd->add_option("--from", o->from, "log10 of the first learning rate (default -3)");
  cmd->add_option("--to", o->to, "log10 of the last learning rate (default 0)");
  cmd->add_option("--batch", o->batch, "minibatch size");
  addSeedOption(cmd, o->seed, "seed of the initial weights and the minibatches");
  cmd->add_option("--out", o->out, "folder for lr_find.csv and lr_find.html (default runs/<model>-lr-find)");
  cmd->callback([&action, o] { action = [o] { return lrFind(*o); }; });
}

}  // namespace netc::driver
