#include "runtime/probes/stats_summary.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

std::string sparkline(const Histogram& h) {
  static const char* blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  double top = 0;
  for (double c : h.counts) top = std::max(top, c);
  std::string out;
  for (double c : h.counts) {
    if (c <= 0 || top <= 0) {
      out += ' ';
      continue;
    }
    // Square-root scale: one bin holding most of the mass would otherwise flatten every other bin to nothing.
    int level = static_cast<int>(std::ceil(std::sqrt(c / top) * 8)) - 1;
    out += blocks[std::clamp(level, 0, 7)];
  }
  return out;
}

namespace {

std::string fixed(double v, int prec = 3) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, prec) : "n/a"; }

std::string histLine(const std::string& label, const Histogram& h) {
  std::string outside;
  if (h.under > 0 || h.over > 0)
    outside = fmt::format("  ({} below, {} above)", static_cast<int64_t>(h.under), static_cast<int64_t>(h.over));
  return fmt::format("    {:<14}{:>4} |{}| {}{}\n", label, h.lo, sparkline(h), h.hi, outside);
}

// Words filled into lines of at most `width` columns, every line after the first indented by `indent`.
std::string wrap(const std::string& text, size_t width, size_t indent) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    start = end + 1;
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n" + std::string(indent, ' ');
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line;
}

// A folded loop value's numbers per time step, under its row: saturation and log10 of the gradient's std ("-":
// no gradient at that step), the figures that show the state saturating as the word goes on, or the gradient
// fading on its way back in time.
std::string perStep(const ProbeStats& p) {
  const ScopeEntry* loop = p.timeSteps.front().scope.loopStep();  // the loop variable's name (a log without scopes: t)
  std::string out = fmt::format("      per time step, {} = {}..{}:\n", loop ? loop->name : "t", p.firstStep,
                                p.firstStep + static_cast<int64_t>(p.timeSteps.size()) - 1);
  auto row = [&](const char* label, auto value) {
    // 16 steps to a line: makemore's names fit in one.
    for (size_t i = 0; i < p.timeSteps.size(); i += 16) {
      std::string line = fmt::format("        {:<22}", i == 0 ? label : "");
      for (size_t k = i; k < std::min(p.timeSteps.size(), i + 16); ++k) line += fmt::format("{:>6}", value(p.timeSteps[k]));
      out += line + "\n";
    }
  };
  const ActivationFacts* facts = activationFacts(p.kind);
  if (p.layer && p.spec.saturation)
    row(facts && facts->flat == ActivationFacts::DiesAtZero ? "zero %" : "saturated %", [](const ProbeStats& t) { return fmt::format("{:.1f}", 100 * t.saturatedShare); });
  if (p.grad.present)
    row("log10 grad std", [](const ProbeStats& t) {
      return t.grad.flows() ? fmt::format("{:.1f}", std::log10(t.grad.std)) : std::string("-");
    });
  return out;
}

}  // namespace

std::string formatSummary(const StatsSnapshot& s, const std::vector<Finding>& findings, const std::string& title) {
  std::string out = fmt::format("probe statistics at {}: loss {}\n", title, fixed(s.loss, 4));
  if (!s.probes.empty()) {
    out += fmt::format("    {:<14}{:>9}{:>9}{:>9}{:>11}{:>11}{:>11}\n", "probe", "mean", "std", "pre std", "saturated",
                       "dead", "grad std");
    for (const ProbeStats& p : s.probes) {
      std::string sat = p.layer && p.spec.saturation ? fmt::format("{:.1f}%", 100 * p.saturatedShare) : "-";
      std::string dead = p.layer && p.spec.dead ? fmt::format("{}/{}", p.deadUnits.size(), p.units) : "-";
      bool moments = p.spec.stats;  // @probe(...) without `stats`: no moments shown
      std::string grad = p.grad.present ? fmt::format("{:.3g}", p.grad.std) : "-";
      out += fmt::format("    {:<14}{:>9}{:>9}{:>9}{:>11}{:>11}{:>11}\n", p.name, moments ? fixed(p.mean) : "-",
                         moments ? fixed(p.std) : "-", p.layer && moments ? fixed(p.preStd) : "-", sat, dead, grad);
      if (p.series()) out += perStep(p);
    }
    // A footnote on the lecture's tanh columns, written once for the tanh layers (a probe's kind names its op).
    auto tanh = std::find_if(s.probes.begin(), s.probes.end(), [](const ProbeStats& p) { return p.kind == "tanh"; });
    if (tanh != s.probes.end())
      out += fmt::format("    (tanh saturated: |t| > {}; dead: |t| > 0.99 for every example of the batch; grad: d loss / d value)\n",
                         tanh->saturation);
    for (const ProbeStats& p : s.probes) {
      if (!p.spec.hist) continue;
      out += histLine(p.name, p.hist);
      if (p.layer) out += histLine(p.name + " pre", p.preHist);
    }
  }
  if (!s.params.empty()) {
    out += fmt::format("    {:<14}{:>11}{:>11}{:>11}{:>20}\n", "parameter", "grad std", "data std", "grad/data",
                       "log10 update/data");
    for (const ParamStats& p : s.params)
      out += fmt::format("    {:<14}{:>11}{:>11}{:>11}{:>20}\n", p.name, fmt::format("{:.3g}", p.gradStd),
                         fmt::format("{:.3g}", p.dataStd), fixed(p.gradToData, 4), fixed(p.updateToData, 2));
  }
  for (const Finding& f : findings)
    out += fmt::format("  {:<2} {}\n", f.level == Finding::Warning ? "!" : "ok", wrap(f.text, 100, 5));
  return out;
}

}  // namespace netc
