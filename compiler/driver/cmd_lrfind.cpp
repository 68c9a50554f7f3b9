// netc lr-find MODEL.net: the makemore lecture's learning-rate finder (part 2). Learning rates 10^-3 .. 10^0,
// log-spaced, one training step each (from the initialised weights, training as it goes), loss against the
// exponent; lr_find.csv, lr_find.html (the plot) and a suggested rate: where the smoothed loss is lowest.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

#include "driver/command.h"
#include "runtime/atomic_file.h"
#include "runtime/dataset.h"
#include "runtime/trainer.h"

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

std::string plot(const std::vector<double>& ex, const std::vector<double>& loss, const std::vector<double>& smooth,
                 double best, const std::string& title) {
  const int W = 720, H = 400, L = 56, R = 12, T = 28, B = 40;
  double y0 = 1e300, y1 = -1e300;
  for (double v : loss)
    if (std::isfinite(v)) y0 = std::min(y0, v), y1 = std::max(y1, v);
  if (!(y1 > y0)) y0 -= 1, y1 += 1;
  const double x0 = ex.front(), x1 = ex.back() > ex.front() ? ex.back() : ex.front() + 1;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return T + (1 - (y - y0) / (y1 - y0)) * (H - T - B); };
  std::string s = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"11\">", W, H);
  s += fmt::format("<text x=\"{}\" y=\"16\" font-size=\"13\">{}</text>", L, title);
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
  s += fmt::format("<line x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#2ca02c\" stroke-dasharray=\"4,3\"/>", X(best), T, H - B);
  return s + "</svg>";
}

int lrFind(const LrFindOptions& o) {
  Model m = o.model.load();
  TrainSpec spec = m.train;
  spec.steps = checkFlag("--steps", o.steps, 2, 1'000'000);
  if (o.batch) spec.batch = checkBatchFlag(m.graph, *o.batch);
  if (o.seed) spec.seed = *o.seed;
  if (!(o.from < o.to)) usageFail(fmt::format("--from must be below --to, found {} and {}", o.from, o.to));
  std::vector<double> ex(spec.steps);
  spec.lr.clear();
  for (int64_t i = 0; i < spec.steps; ++i) {
    ex[i] = o.from + (o.to - o.from) * static_cast<double>(i) / static_cast<double>(spec.steps - 1);
    spec.lr.push_back({std::pow(10.0, ex[i]), i + 1 < spec.steps ? i + 1 : -1});
  }
  spec.warmup = 0, spec.cosine = false;
  spec.evalEvery = 0, spec.logEvery = spec.steps, spec.probeEvery = spec.steps;
  Dataset d = loadDataset(m.data, m.vocab);
  Trainer trainer(m, spec, EngineKind::Jit);
  Recorder rec;
  TrainResult r = trainer.train(d, {&rec});
  const size_t n = rec.loss.size();
  // The lecture reads the curve by eye; here a centred moving mean over 5% of the steps, its minimum suggested.
  const int64_t half = std::max<int64_t>(1, static_cast<int64_t>(n) / 40);
  std::vector<double> smooth(n, NAN);
  for (size_t i = 0; i < n; ++i) {
    double sum = 0;
    int k = 0;
    for (int64_t j = static_cast<int64_t>(i) - half; j <= static_cast<int64_t>(i) + half; ++j)
      if (j >= 0 && j < static_cast<int64_t>(n) && std::isfinite(rec.loss[j])) sum += rec.loss[j], ++k;
    if (k > 0 && static_cast<int64_t>(i) >= half && static_cast<int64_t>(i) + half < static_cast<int64_t>(n)) smooth[i] = sum / k;
  }
  size_t best = 0;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(smooth[i]) && (!std::isfinite(smooth[best]) || smooth[i] < smooth[best])) best = i;
  const double bestEx = ex[std::min(best, ex.size() - 1)], suggested = std::pow(10.0, bestEx);
  const std::string dir = o.out.empty() ? (fs::path("runs") / (m.name + "-lr-find")).string() : o.out;
  fs::create_directories(dir);
  std::string csv = "step,exponent,lr,loss,smoothed\n";
  for (size_t i = 0; i < n; ++i) csv += fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g}\n", i, ex[i], std::pow(10.0, ex[i]), rec.loss[i], smooth[i]);
  writeFileAtomically((fs::path(dir) / "lr_find.csv").string(), csv);
  const std::string title = fmt::format("{}: loss against log10(lr), one step each; lowest smoothed at 10^{:.2f} = {:.3g}", m.name, bestEx, suggested);
  std::vector<double> exShown(ex.begin(), ex.begin() + static_cast<std::ptrdiff_t>(n));
  std::string html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>netc lr-find</title></head><body data-figures-drawn=\"1\">\n" +
                     plot(exShown, rec.loss, smooth, bestEx, title) +
                     fmt::format("\n<p>{} steps, learning rate 10^{} .. 10^{}{}. Suggested: {:.3g} (the minimum of the moving mean; "
                                 "the lecture takes the valley before the loss turns unstable).</p></body></html>\n",
                                 n, o.from, o.to, r.diverged ? fmt::format(", stopped when the loss diverged at step {}", r.divergedStep) : "",
                                 suggested);
  writeFileAtomically((fs::path(dir) / "lr_find.html").string(), html);
  fmt::print("lr-find: {} steps from 10^{} to 10^{}{}\n", n, o.from, o.to,
             r.diverged ? fmt::format(" (diverged at step {}, lr {:.3g})", r.divergedStep, std::pow(10.0, ex[std::max<int64_t>(0, r.divergedStep)])) : "");
  fmt::print("suggested learning rate {:.3g} (10^{:.2f}): lowest smoothed loss {:.4f}\n", suggested, bestEx, smooth[best]);
  fmt::print("saved in {}/ (lr_find.csv, lr_find.html)\n", dir);
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
