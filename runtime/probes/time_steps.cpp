#include "runtime/probes/time_steps.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

std::optional<std::pair<std::string, int64_t>> splitStepName(std::string_view name) {
  size_t at = name.rfind("@t");
  if (at == std::string_view::npos || at == 0 || at + 2 == name.size()) return std::nullopt;
  int64_t t = 0;
  for (size_t i = at + 2; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9' || i - at > 12) return std::nullopt;
    t = t * 10 + (name[i] - '0');
  }
  return std::make_pair(std::string(name.substr(0, at)), t);
}

namespace {

// Pools equal-sized groups given by their means and standard deviations: the mean of the means, and the
// spread of the union, sqrt(E[std^2 + mean^2] - mean^2).
std::pair<double, double> pooled(const std::vector<std::pair<double, double>>& ms) {
  double m = 0, sq = 0;
  for (auto [mean, sd] : ms) m += mean, sq += sd * sd + mean * mean;
  double n = static_cast<double>(ms.size());
  m /= n, sq /= n;
  return {m, std::sqrt(std::max(0.0, sq - m * m))};
}

void addInto(Histogram& into, const Histogram& h) {
  if (into.counts.size() != h.counts.size()) return;
  for (size_t b = 0; b < h.counts.size(); ++b) into.counts[b] += h.counts[b];
  into.under += h.under, into.over += h.over;
}

bool foldable(const ProbeStats& a, const ProbeStats& b) {
  return a.kind == b.kind && a.layer == b.layer && a.units == b.units && a.rows == b.rows &&
         a.hist.counts.size() == b.hist.counts.size() && a.grad.present == b.grad.present;
}

}  // namespace

ProbeStats poolSteps(const std::string& name, int64_t firstStep, std::vector<ProbeStats> steps) {
  const ProbeStats& a = steps.front();
  ProbeStats p;
  p.name = name, p.kind = a.kind, p.layer = a.layer, p.logits = a.logits, p.spec = a.spec;
  p.units = a.units, p.saturation = a.saturation;
  p.hist = a.hist, p.preHist = a.preHist, p.min = a.min, p.max = a.max;
  p.deadUnits = a.deadUnits;
  const double n = static_cast<double>(steps.size());
  std::vector<std::pair<double, double>> out, pre, grad;
  for (size_t i = 0; i < steps.size(); ++i) {
    const ProbeStats& s = steps[i];
    p.rows += s.rows;
    out.push_back({s.mean, s.std}), pre.push_back({s.preMean, s.preStd}), grad.push_back({s.grad.mean, s.grad.std});
    p.saturatedShare += s.saturatedShare / n, p.flatShare += s.flatShare / n;
    p.saturatedLowShare += s.saturatedLowShare / n, p.saturatedHighShare += s.saturatedHighShare / n;
    if (i == 0) continue;
    p.min = std::min(p.min, s.min), p.max = std::max(p.max, s.max);
    addInto(p.hist, s.hist), addInto(p.preHist, s.preHist);
    // Dead over the whole sequence: flat for every example at every step.
    std::vector<int64_t> both;
    std::set_intersection(p.deadUnits.begin(), p.deadUnits.end(), s.deadUnits.begin(), s.deadUnits.end(),
                          std::back_inserter(both));
    p.deadUnits = std::move(both);
  }
  std::tie(p.mean, p.std) = pooled(out);
  std::tie(p.preMean, p.preStd) = pooled(pre);
  if (a.grad.present) {
    p.grad.present = true;
    std::tie(p.grad.mean, p.grad.std) = pooled(grad);
    p.grad.hist = a.grad.hist;
    for (size_t i = 0; i < steps.size(); ++i) {
      p.grad.zeroShare += steps[i].grad.zeroShare / n;
      if (i > 0) addInto(p.grad.hist, steps[i].grad.hist);
    }
  }
  p.firstStep = firstStep;
  p.timeSteps = std::move(steps);
  return p;
}

void foldTimeSteps(StatsSnapshot& s) {
  std::vector<ProbeStats> out;
  std::vector<bool> used(s.probes.size(), false);
  for (size_t i = 0; i < s.probes.size(); ++i) {
    if (used[i]) continue;
    auto head = splitStepName(s.probes[i].name);
    if (!head || s.probes[i].series()) {
      out.push_back(std::move(s.probes[i]));
      continue;
    }
    // The steps of one value are not adjacent (a GRU's r, hbar and z interleave): look ahead for t+1, t+2, ...
    std::vector<size_t> members{i};
    for (int64_t t = head->second + 1;; ++t) {
      std::string want = fmt::format("{}@t{}", head->first, t);
      size_t j = i + 1;
      while (j < s.probes.size() && (used[j] || s.probes[j].name != want)) ++j;
      if (j == s.probes.size() || !foldable(s.probes[i], s.probes[j])) break;
      members.push_back(j);
    }
    if (members.size() < 2) {
      out.push_back(std::move(s.probes[i]));
      continue;
    }
    std::vector<ProbeStats> steps;
    for (size_t j : members) used[j] = true, steps.push_back(std::move(s.probes[j]));
    int64_t last = head->second + static_cast<int64_t>(members.size()) - 1;
    out.push_back(poolSteps(fmt::format("{}@t{}..{}", head->first, head->second, last), head->second, std::move(steps)));
  }
  s.probes = std::move(out);
}

}  // namespace netc
