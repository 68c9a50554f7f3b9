#include "runtime/probes/time_steps.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

// The scope around the loop: `path` without its innermost loop step (what a folded record's scope is).
ScopePath outsideLoop(ScopePath path) {
  for (size_t i = path.entries.size(); i-- > 0;)
    if (path.entries[i].kind == ScopeEntry::Kind::LoopStep) {
      path.entries.erase(path.entries.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  return path;
}

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
  p.scope = outsideLoop(a.scope);
  p.firstStep = firstStep;
  p.timeSteps = std::move(steps);
  return p;
}

void foldTimeSteps(StatsSnapshot& s) {
  std::vector<ProbeStats> out;
  std::vector<bool> used(s.probes.size(), false);
  for (size_t i = 0; i < s.probes.size(); ++i) {
    if (used[i]) continue;
    const ScopeEntry* loop = s.probes[i].scope.loopStep();
    if (!loop || s.probes[i].series()) {
      out.push_back(std::move(s.probes[i]));
      continue;
    }
    // The steps of one value are not adjacent (a GRU's r, hbar and z interleave): look ahead for the value of
    // the same name in the same loop body at the next step, and the next, ...
    const std::string local = localName(s.probes[i].name, s.probes[i].scope);
    const int64_t first = loop->value();  // t at the first step
    std::vector<size_t> members{i};
    for (;;) {
      const ProbeStats& prev = s.probes[members.back()];
      size_t j = i + 1;
      while (j < s.probes.size() && (used[j] || !isNextStep(prev.scope, s.probes[j].scope) ||
                                     localName(s.probes[j].name, s.probes[j].scope) != local))
        ++j;
      if (j == s.probes.size() || !foldable(s.probes[i], s.probes[j])) break;
      members.push_back(j);
    }
    if (members.size() < 2) {
      out.push_back(std::move(s.probes[i]));
      continue;
    }
    std::vector<ProbeStats> steps;
    for (size_t j : members) used[j] = true, steps.push_back(std::move(s.probes[j]));
    const int64_t last = first + static_cast<int64_t>(members.size()) - 1;
    const std::string name = fmt::format("{}..{}", qualifiedName(local, steps.front().scope), last);
    out.push_back(poolSteps(name, first, std::move(steps)));
  }
  s.probes = std::move(out);
}

}  // namespace netc
