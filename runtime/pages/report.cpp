#include "runtime/pages/report.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/files/atomic_file.h"
#include "runtime/pages/page_json.h"
#include "runtime/pages/page_template.h"
#include "support/diag.h"

namespace netc {

namespace {

using nlohmann::json;

using page::num;
using page::findingsJson;
using page::lossCurve;

json histJson(const Histogram& h) {
  return {{"lo", h.lo}, {"hi", h.hi}, {"under", h.under}, {"over", h.over}, {"counts", h.counts}};
}

// A gradient's statistics at one collection (null when the loss does not depend on it).
json gradJson(const GradStats& g) {
  if (!g.present) return nullptr;
  return {{"mean", num(g.mean)}, {"std", num(g.std)}, {"zero", num(g.zeroShare)}, {"hist", histJson(g.hist)}};
}

// What the overview figures' legends say about a probe at one collection.
json probeMoment(const ProbeStats& p) {
  return {{"mean", num(p.mean)}, {"std", num(p.std)}, {"sat", num(p.saturatedShare)}, {"sat_lo", num(p.saturatedLowShare)},
          {"sat_hi", num(p.saturatedHighShare)}, {"flat", num(p.flatShare)}, {"grad", gradJson(p.grad)}};
}

json paramMoment(const ParamStats& p) {
  return {{"grad", gradJson(p.grad)}, {"grad_to_data", num(p.gradToData)}, {"update_to_data", num(p.updateToData)}};
}

// A folded loop value (ProbeStats::timeSteps) per time step: t, saturated share, gradient std (null: none).
json timeJson(const ProbeStats& p) {
  json t = json::array(), sat = json::array(), grad = json::array();
  for (size_t k = 0; k < p.timeSteps.size(); ++k) {
    const ProbeStats& s = p.timeSteps[k];
    t.push_back(p.firstStep + static_cast<int64_t>(k));
    sat.push_back(num(s.saturatedShare));
    grad.push_back(s.grad.flows() ? num(s.grad.std) : json(nullptr));
  }
  return {{"t", t}, {"sat", sat}, {"grad", grad}};
}


// The innermost block instance on a scope path, or nullptr outside every block.
const ScopeEntry* innermostBlock(const ScopePath& path) {
  for (size_t i = path.entries.size(); i-- > 0;)
    if (path.entries[i].kind == ScopeEntry::Kind::Block) return &path.entries[i];
  return nullptr;
}

// Everything the page's script draws, gathered per probe and per parameter across the collections.
json reportJson(const ReportData& d, size_t maxLossPoints) {
  json j = {{"model", d.model}, {"vocab", d.vocab}, {"train", lossCurve(d.train, maxLossPoints)}, {"dev", lossCurve(d.dev, maxLossPoints)}};
  json probes = json::array(), params = json::array();
  if (!d.snapshots.empty()) {
    const StatsSnapshot& first = d.snapshots.front();
    const StatsSnapshot& last = d.snapshots.back();
    for (const ProbeStats& p0 : first.probes) {
      const ProbeStats* pn = last.probe(p0.name);
      if (!pn) continue;
      json steps = json::array(), sat = json::array(), beyond = json::array(), dead = json::array();
      for (const StatsSnapshot& s : d.snapshots)
        if (const ProbeStats* p = s.probe(p0.name)) {
          steps.push_back(s.step);
          sat.push_back(num(p->saturatedShare)), beyond.push_back(num(p->flatShare));
          dead.push_back(p->deadUnits.size());
        }
      json pj = {{"name", p0.name}, {"layer", p0.layer}, {"kind", p0.kind}, {"logits", p0.logits}, {"units", p0.units}, {"rows", p0.rows},
                 {"hist", p0.spec.hist}, {"saturation", p0.spec.saturation}, {"dead", p0.spec.dead},
                 {"threshold", p0.saturation}, {"first", first.step}, {"last", last.step},
                 {"hist0", histJson(p0.hist)}, {"histN", histJson(pn->hist)},
                 {"at0", probeMoment(p0)}, {"atN", probeMoment(*pn)}};
      if (p0.layer) {
        pj["pre0"] = histJson(p0.preHist), pj["preN"] = histJson(pn->preHist);
        pj["steps"] = steps, pj["sat"] = sat, pj["beyond99"] = beyond, pj["dead_counts"] = dead;
        pj["mask0"] = p0.mask, pj["maskN"] = pn->mask;
      }
      // The block instance that made it (its scope path, never its name): the page groups the layers by it.
      if (const ScopeEntry* block = innermostBlock(p0.scope))
        pj["instance"] = {{"path", block->name}, {"block", block->block}, {"line", block->line}};
      if (p0.series() && pn->series())  // value: the local name ("h" of h@t0..15), which the figure's axis names
        pj["time"] = {{"value", localName(p0.timeSteps.front().name, p0.timeSteps.front().scope)},
                      {"at0", timeJson(p0)}, {"atN", timeJson(*pn)}};
      probes.push_back(std::move(pj));
    }
    for (const ParamStats& p0 : first.params) {
      json steps = json::array(), ratio = json::array();
      for (const StatsSnapshot& s : d.snapshots)
        if (const ParamStats* p = s.param(p0.name)) steps.push_back(s.step), ratio.push_back(num(p->updateToData));
      const ParamStats* pn = last.param(p0.name);
      params.push_back({{"name", p0.name}, {"shape", p0.shape}, {"steps", steps}, {"ratio", ratio},
                        {"at0", paramMoment(p0)}, {"atN", pn ? paramMoment(*pn) : paramMoment(p0)}});
      if (const ScopeEntry* block = innermostBlock(p0.scope)) params.back()["instance"] = block->name;
    }
  }
  if (!d.snapshots.empty()) j["first_step"] = d.snapshots.front().step, j["last_step"] = d.snapshots.back().step;
  j["probes"] = probes;
  j["params"] = params;
  j["findings"] = {{"initial", findingsJson(d.initialFindings)}, {"final", findingsJson(d.finalFindings)}};
  return j;
}

}  // namespace

int reportFigureCount(const ReportData& d) {
  int n = 1;  // the loss curve
  if (d.snapshots.empty()) return n;
  const StatsSnapshot& first = d.snapshots.front();
  const StatsSnapshot& last = d.snapshots.back();
  // The overview figures (the lecture's four): activation histograms of the layers, the gradients at them,
  // the rank-2 parameters' gradients, and the update-to-data ratios (counted with the parameters below).
  bool layers = false, layerGrads = false, weightGrads = false;
  for (const ProbeStats& p : first.probes)
    if (p.layer && last.probe(p.name)) layers = true, layerGrads = layerGrads || p.grad.present;
  for (const ParamStats& p : first.params) weightGrads = weightGrads || p.grad.present;
  n += layers + layerGrads + weightGrads;
  for (const ProbeStats& p : first.probes) {
    if (!last.probe(p.name)) continue;
    if (p.spec.hist) n += p.layer ? 2 : 1;                   // outputs (and pre-activations)
    if (p.layer && p.spec.saturation) n += 1;                // saturation over time
    if (p.layer && !p.mask.empty()) n += 1;                  // the dead-neuron images
    if (p.series() && last.probe(p.name)->series()) n += 1;  // over the time steps
  }
  if (!first.params.empty()) n += 1;                         // update-to-data ratios
  return n;
}

std::string renderReport(const ReportData& d, size_t maxLossPoints) {
  return page::fillTemplate(kReportPage, {
                                             {"TITLE", page::htmlText(d.model)},
                                             {"EXPECTED", std::to_string(reportFigureCount(d))},
                                             {"DATA", page::scriptJson(reportJson(d, maxLossPoints))},
                                         });
}

void writeReport(const std::string& path, const ReportData& d) { writeFileAtomically(path, renderReport(d)); }

}  // namespace netc
