#include "runtime/probes/stats.h"

#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "ops/op.h"
#include "ops/probe_layout.h"
#include "runtime/files/atomic_file.h"
#include "runtime/probes/time_steps.h"
#include "support/diag.h"

namespace netc {

const ProbeStats* StatsSnapshot::probe(std::string_view name) const {
  for (const ProbeStats& p : probes)
    if (p.name == name) return &p;
  return nullptr;
}

const ParamStats* StatsSnapshot::param(std::string_view name) const {
  for (const ParamStats& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

// ---- decoding ----

namespace {

Histogram histogram(const double* counts, double lo, double hi, double under, double over) {
  Histogram h;
  h.lo = lo, h.hi = hi;
  h.counts.assign(counts, counts + probe::kBins);
  h.under = under, h.over = over;
  return h;
}

// Reads a stats node, checking its size against the layout: a mismatch is a compiler bug, said as such.
std::vector<double> readNode(Engine& e, int node, int64_t expected, const std::string& what) {
  std::vector<double> v = e.read(node);
  if (static_cast<int64_t>(v.size()) != expected)
    fail(fmt::format("internal error: the statistics of {} hold {} values, expected {}", what, v.size(), expected));
  return v;
}

GradStats decodeGrad(Engine& e, int node, const std::string& what) {
  using namespace probe;
  GradStats g;
  if (node < 0) return g;
  std::vector<double> v = readNode(e, node, grad::Size, "the gradient of " + what);
  g.present = true;
  g.mean = v[grad::Mean], g.std = v[grad::Std];
  double n = static_cast<double>(numel(e.graph()[e.graph()[node].inputs[0]].shape));
  g.zeroShare = n > 0 ? v[grad::Zero] / n : 0;
  g.hist = histogram(&v[grad::Hist], kGradLo, kGradHi, v[grad::Under], v[grad::Over]);
  return g;
}

ProbeStats decodeLayer(Engine& e, const ProbeEntry& pe, double saturation) {
  using namespace probe;
  const Graph& g = e.graph();
  ProbeStats s;
  s.name = pe.name, s.kind = activationName(pe.activation), s.layer = true, s.logits = pe.logits, s.spec = pe.spec;
  s.scope = g[pe.node].scope;
  const Shape& shape = g[pe.node].shape;
  s.units = shape.back();
  s.rows = numel(shape) / s.units;
  std::vector<double> v = readNode(e, pe.stats, layer::size(s.units), pe.name);
  double n = static_cast<double>(s.rows * s.units);
  auto share = [&](double count) { return n > 0 ? count / n : 0; };
  s.preMean = v[layer::PreMean], s.preStd = v[layer::PreStd];
  s.mean = v[layer::OutMean], s.std = v[layer::OutStd];
  s.saturation = saturation;
  s.saturatedLowShare = share(v[layer::SaturatedLow]), s.saturatedHighShare = share(v[layer::SaturatedHigh]);
  s.saturatedShare = share(v[layer::SaturatedLow] + v[layer::SaturatedHigh]);
  s.flatShare = share(v[layer::Flat]);
  for (int64_t u = 0; u < s.units; ++u)
    if (v[layer::Dead + u] != 0) s.deadUnits.push_back(u);
  s.hist = histogram(&v[layer::OutHist], outLo(pe.activation), outHi(pe.activation), v[layer::OutUnder],
                     v[layer::OutOver]);
  s.preHist = histogram(&v[layer::PreHist], kPreLo, kPreHi, v[layer::PreUnder], v[layer::PreOver]);
  if (pe.mask >= 0) {
    std::vector<double> m = readNode(e, pe.mask, s.rows * s.units, "the mask of " + pe.name);
    for (int64_t r = 0; r < s.rows; ++r) s.mask.push_back(encodeMaskRow(&m[r * s.units], s.units));
  }
  s.grad = decodeGrad(e, pe.grad, pe.name);
  return s;
}

ProbeStats decodeValue(Engine& e, const ProbeEntry& pe) {
  using namespace probe;
  const Graph& g = e.graph();
  ProbeStats s;
  s.name = pe.name, s.logits = pe.logits, s.spec = pe.spec;
  s.scope = g[pe.node].scope;
  s.rows = 1, s.units = numel(g[pe.node].shape);
  std::vector<double> v = readNode(e, pe.stats, value::Size, pe.name);
  s.mean = v[value::Mean], s.std = v[value::Std], s.min = v[value::Min], s.max = v[value::Max];
  const Attrs& a = g[pe.stats].attrs;
  s.hist = histogram(&v[value::Hist], static_cast<double>(a.ints.at(0)), static_cast<double>(a.ints.at(1)),
                     v[value::Under], v[value::Over]);
  s.grad = decodeGrad(e, pe.grad, pe.name);
  return s;
}

}  // namespace

StatsSnapshot readStats(Engine& e, const ProbePlan& plan, int64_t step, double loss, double lr) {
  StatsSnapshot s;
  s.step = step, s.loss = loss, s.lr = lr;
  for (const ProbeEntry& pe : plan.probes)
    s.probes.push_back(pe.kind == ProbeEntry::Layer ? decodeLayer(e, pe, plan.saturation) : decodeValue(e, pe));
  for (const ParamProbe& pp : plan.params) {
    std::vector<double> v = readNode(e, pp.stats, probe::param::Size, pp.name);
    ParamStats p;
    p.name = pp.name;
    p.shape = pp.shape;
    p.scope = e.graph()[pp.param].scope;
    p.initGain = pp.initGain;
    p.fanInScaled = pp.fanInScaled;
    p.gradMean = v[probe::param::GradMean], p.gradStd = v[probe::param::GradStd];
    p.dataMean = v[probe::param::DataMean], p.dataStd = v[probe::param::DataStd];
    p.gradToData = v[probe::param::GradToData], p.updateToData = v[probe::param::UpdateToData];
    p.grad = decodeGrad(e, pp.gradHist, pp.name);
    s.params.push_back(p);
  }
  foldTimeSteps(s);
  return s;
}

std::string encodeMaskRow(const double* bits, int64_t units) {
  static const char* hex = "0123456789abcdef";
  std::string out((units + 3) / 4, '0');
  for (int64_t u = 0; u < units; ++u)
    if (bits[u] != 0) out[u / 4] = hex[(std::string_view(hex).find(out[u / 4])) | (8 >> (u % 4))];
  return out;
}

std::vector<bool> decodeMaskRow(const std::string& hex, int64_t units) {
  if (static_cast<int64_t>(hex.size()) != (units + 3) / 4)
    fail(fmt::format("a mask row of {} hex digits cannot hold {} units", hex.size(), units));
  std::vector<bool> out(units);
  for (int64_t u = 0; u < units; ++u) {
    char c = hex[u / 4];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) fail(fmt::format("'{}' is not a hex digit in a mask row", c));
    out[u] = (d & (8 >> (u % 4))) != 0;
  }
  return out;
}

// ---- JSON ----

namespace {

using nlohmann::json;

json num(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
double numOf(const json& j, const char* key) {
  const json& v = j.at(key);
  return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>();
}

json histJson(const Histogram& h) {
  return {{"lo", h.lo}, {"hi", h.hi}, {"under", h.under}, {"over", h.over}, {"counts", h.counts}};
}
Histogram histOf(const json& j) {
  Histogram h;
  h.lo = j.at("lo"), h.hi = j.at("hi"), h.under = j.at("under"), h.over = j.at("over");
  h.counts = j.at("counts").get<std::vector<double>>();
  return h;
}

json specJson(const ProbeSpec& p) {
  return {{"hist", p.hist}, {"saturation", p.saturation}, {"dead", p.dead}, {"stats", p.stats}};
}

// A gradient's statistics go into the record they describe, flat: grad_mean, grad_std, grad_zero_share, grad_hist.
void putGrad(json& j, const GradStats& g) {
  if (!g.present) return;
  j["grad_mean"] = num(g.mean), j["grad_std"] = num(g.std), j["grad_zero_share"] = num(g.zeroShare);
  j["grad_hist"] = histJson(g.hist);
  j["grad_hist"]["scale"] = "log10_abs";
}
GradStats gradOf(const json& j) {
  GradStats g;
  if (!j.contains("grad_std")) return g;
  g.present = true;
  g.mean = numOf(j, "grad_mean"), g.std = numOf(j, "grad_std"), g.zeroShare = numOf(j, "grad_zero_share");
  g.hist = histOf(j.at("grad_hist"));
  return g;
}

// A scope path (graph/scope_path.h) as a list of its entries, outermost first:
// {"kind": "loop" | "block", "name": "t", "index": 3, "first": 0, "line": 27}; a block's entry also has
// "block": the block's name ("Layer"), its "name" being the instance's path ("layers.2").
json scopeJson(const ScopePath& path) {
  json out = json::array();
  for (const ScopeEntry& e : path.entries) {
    out.push_back({{"kind", e.kind == ScopeEntry::Kind::LoopStep ? "loop" : "block"}, {"name", e.name},
                   {"index", e.index}, {"first", e.first}, {"line", e.line}});
    if (e.kind == ScopeEntry::Kind::Block) out.back()["block"] = e.block;
  }
  return out;
}

ScopePath scopeOf(const json& j) {
  ScopePath path;
  for (const json& e : j) {
    const std::string kind = e.at("kind");
    if (kind != "loop" && kind != "block") fail(fmt::format("unknown scope kind '{}' in a probe's scope", kind));
    path.entries.push_back({kind == "loop" ? ScopeEntry::Kind::LoopStep : ScopeEntry::Kind::Block, e.at("name"),
                            e.at("index"), e.at("first"), e.at("line"), e.value("block", std::string())});
  }
  return path;
}

json probeJson(const ProbeStats& p) {
  json j = {{"name", p.name}, {"kind", p.kind}, {"logits", p.logits}, {"spec", specJson(p.spec)},
            {"rows", p.rows}, {"units", p.units}, {"mean", num(p.mean)}, {"std", num(p.std)},
            {"hist", histJson(p.hist)}};
  if (p.layer) {
    j["pre_mean"] = num(p.preMean), j["pre_std"] = num(p.preStd);
    j["saturation"] = p.saturation;
    j["saturated_share"] = num(p.saturatedShare);
    j["saturated_low_share"] = num(p.saturatedLowShare), j["saturated_high_share"] = num(p.saturatedHighShare);
    j["flat_share"] = num(p.flatShare);
    if (const ActivationFacts* a = activationFacts(p.kind); a && a->flatShareKey) j[a->flatShareKey] = num(p.flatShare);
    j["dead_units"] = p.deadUnits;
    j["pre_hist"] = histJson(p.preHist);
    j["mask"] = p.mask;
  } else {
    j["min"] = num(p.min), j["max"] = num(p.max);
  }
  putGrad(j, p.grad);
  if (!p.scope.empty()) j["scope"] = scopeJson(p.scope);
  if (p.series()) {
    json steps = json::array();
    for (const ProbeStats& t : p.timeSteps) steps.push_back(probeJson(t));
    j["time_steps"] = {{"first", p.firstStep}, {"probes", steps}};
  }
  return j;
}

ProbeStats probeOf(const json& pj) {
  ProbeStats p;
  p.name = pj.at("name"), p.kind = pj.at("kind"), p.logits = pj.at("logits");
  p.layer = p.kind != "value";
  const json& sp = pj.at("spec");
  p.spec = ProbeSpec{sp.at("hist"), sp.at("saturation"), sp.at("dead"), sp.at("stats")};
  p.rows = pj.at("rows"), p.units = pj.at("units");
  p.mean = numOf(pj, "mean"), p.std = numOf(pj, "std");
  p.hist = histOf(pj.at("hist"));
  if (p.layer) {
    p.preMean = numOf(pj, "pre_mean"), p.preStd = numOf(pj, "pre_std");
    p.saturation = pj.at("saturation");
    p.saturatedShare = numOf(pj, "saturated_share");
    p.saturatedLowShare = numOf(pj, "saturated_low_share"), p.saturatedHighShare = numOf(pj, "saturated_high_share");
    p.flatShare = numOf(pj, "flat_share");
    p.deadUnits = pj.at("dead_units").get<std::vector<int64_t>>();
    p.preHist = histOf(pj.at("pre_hist"));
    p.mask = pj.at("mask").get<std::vector<std::string>>();
  } else {
    p.min = numOf(pj, "min"), p.max = numOf(pj, "max");
  }
  p.grad = gradOf(pj);
  if (pj.contains("scope")) p.scope = scopeOf(pj.at("scope"));
  if (pj.contains("time_steps")) {
    p.firstStep = pj.at("time_steps").at("first");
    for (const json& t : pj.at("time_steps").at("probes")) p.timeSteps.push_back(probeOf(t));
  }
  return p;
}

}  // namespace

nlohmann::json toJson(const StatsSnapshot& s) {
  json probes = json::array(), params = json::array();
  for (const ProbeStats& p : s.probes) probes.push_back(probeJson(p));
  for (const ParamStats& p : s.params) {
    json j = {{"name", p.name}, {"shape", p.shape}, {"init_gain", num(p.initGain)}, {"fan_in_scaled", p.fanInScaled},
              {"grad_mean", num(p.gradMean)}, {"grad_std", num(p.gradStd)},
              {"data_mean", num(p.dataMean)}, {"data_std", num(p.dataStd)},
              {"grad_to_data", num(p.gradToData)}, {"update_to_data", num(p.updateToData)}};
    if (p.grad.present) {
      j["grad_zero_share"] = num(p.grad.zeroShare);
      j["grad_hist"] = histJson(p.grad.hist);
      j["grad_hist"]["scale"] = "log10_abs";
    }
    if (!p.scope.empty()) j["scope"] = scopeJson(p.scope);
    params.push_back(std::move(j));
  }
  return {{"step", s.step}, {"loss", num(s.loss)}, {"lr", num(s.lr)}, {"probes", probes}, {"params", params}};
}

StatsSnapshot snapshotFromJson(const nlohmann::json& j) {
  StatsSnapshot s;
  s.step = j.at("step"), s.loss = numOf(j, "loss"), s.lr = numOf(j, "lr");
  for (const json& pj : j.at("probes")) s.probes.push_back(probeOf(pj));
  foldTimeSteps(s);  // a log written with each step's record apart (and its scope)
  for (const json& pj : j.at("params")) {
    ParamStats p;
    p.name = pj.at("name");
    if (pj.contains("shape")) p.shape = pj.at("shape").get<Shape>();
    p.fanInScaled = pj.value("fan_in_scaled", false);
    if (pj.contains("scope")) p.scope = scopeOf(pj.at("scope"));
    p.initGain = pj.contains("init_gain") ? numOf(pj, "init_gain") : std::numeric_limits<double>::quiet_NaN();
    p.gradMean = numOf(pj, "grad_mean"), p.gradStd = numOf(pj, "grad_std");
    p.dataMean = numOf(pj, "data_mean"), p.dataStd = numOf(pj, "data_std");
    p.gradToData = numOf(pj, "grad_to_data"), p.updateToData = numOf(pj, "update_to_data");
    if (pj.contains("grad_hist")) {
      p.grad.present = true;
      p.grad.mean = p.gradMean, p.grad.std = p.gradStd, p.grad.zeroShare = numOf(pj, "grad_zero_share");
      p.grad.hist = histOf(pj.at("grad_hist"));
    }
    s.params.push_back(std::move(p));
  }
  return s;
}

// ---- stats.jsonl ----

StatsLog::StatsLog(const std::string& path, OpenMode mode) : out_(path, mode) {}

void StatsLog::append(const StatsSnapshot& s) {
  out_.print("{}\n", toJson(s).dump());
  out_.flush();  // a killed run keeps what it measured
}

void StatsLog::close() { out_.close(); }

std::vector<StatsSnapshot> readStatsLog(const std::string& path) {
  std::vector<StatsSnapshot> out;
  // Complete lines only: a run killed mid-record leaves a partial last line, which is not an error.
  std::vector<std::string> lines = readCompleteLines(path);
  for (size_t n = 0; n < lines.size(); ++n) {
    if (lines[n].empty()) continue;
    try {
      out.push_back(snapshotFromJson(nlohmann::json::parse(lines[n])));
    } catch (const nlohmann::json::exception& e) {
      fail(fmt::format("{}:{}: not a statistics record: {}", path, n + 1, e.what()));
    }
  }
  return out;
}

}  // namespace netc
