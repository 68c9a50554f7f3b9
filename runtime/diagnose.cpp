#include "runtime/diagnose.h"

#include <cmath>
#include <fmt/format.h>

namespace netc {

namespace {

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

std::string percent(double share) { return fmt::format("{:.1f}%", 100 * share); }

Finding initialLoss(const StatsSnapshot& s, const DiagnosisContext& c) {
  double baseline = std::log(static_cast<double>(c.vocab));
  std::string cmp = fmt::format("The initial loss is {:.2f}; a uniform guess over the {} symbols scores -ln(1/{}) = {:.2f}",
                                s.loss, c.vocab, c.vocab, baseline);
  if (!(s.loss > kSomewhatHigh * baseline))
    return {Finding::Good, "initial loss",
            cmp + ". The output layer starts unopinionated, as it should: no steps are wasted undoing a bad start."};
  std::string spread;
  for (const ProbeStats& p : s.probes)
    if (p.logits && !p.tanh)
      spread = fmt::format(" The logits spread widely (std {:.1f}, from {:.1f} to {:.1f}), so a few symbols get almost "
                           "all the probability, mostly the wrong ones.",
                           p.std, p.min, p.max);
  std::string who = c.outputParams.empty() ? "the output layer's weights and bias"
                                           : fmt::format("the output layer ({})", joinNames(c.outputParams));
  if (s.loss > kConfidentlyWrong * baseline)
    return {Finding::Warning, "initial loss",
            cmp + ": the network is confidently wrong at initialisation." + spread +
                fmt::format(" The first steps are spent only squashing these logits (the hockey stick of the loss "
                            "curve). Start {} near zero: scale the weights down (e.g. randn * 0.01) and start the "
                            "bias at zero, so the first guess is close to uniform.",
                            who)};
  return {Finding::Warning, "initial loss",
          cmp + ": somewhat above, the network starts a little opinionated." + spread +
              fmt::format(" Scaling {} further down would start it nearer the baseline.", who)};
}

std::vector<Finding> tanhLayer(const ProbeStats& p, const DiagnosisContext& c) {
  std::vector<Finding> out;
  auto lp = c.layerParams.find(p.name);
  std::string params = lp != c.layerParams.end() && !lp->second.empty() ? joinNames(lp->second) : "";
  bool sat = p.spec.saturation && p.saturatedShare > kSaturatedShare;
  if (sat) {
    bool heavy = p.saturatedShare > kHeavilySaturated;
    out.push_back(
        {Finding::Warning, p.name,
         fmt::format("Layer {} is {}saturated: {} of its outputs have |t| > {}. There tanh's local gradient 1 - t*t is "
                     "below {:.2f}, so little gradient flows back through {}{}. Its pre-activations are too wide "
                     "(std {:.2f}): scale {} down, e.g. Kaiming: randn * (5/3) / sqrt(fan_in).",
                     p.name, heavy ? "heavily " : "", percent(p.saturatedShare), p.saturation,
                     1 - p.saturation * p.saturation, p.name,
                     params.empty() ? "" : fmt::format(" and {} learn slowly", params), p.preStd,
                     params.empty() ? "the weights feeding it" : params)});
  }
  if (p.spec.dead && !p.deadUnits.empty()) {
    std::string idx;
    size_t shown = std::min<size_t>(p.deadUnits.size(), 24);
    for (size_t i = 0; i < shown; ++i) idx += (i ? ", " : "") + std::to_string(p.deadUnits[i]);
    if (shown < p.deadUnits.size()) idx += fmt::format(", ... ({} more)", p.deadUnits.size() - shown);
    out.push_back({Finding::Warning, p.name,
                   fmt::format("Layer {} has {} dead unit{} of {} (index {}): |t| > 0.99 for every example of the "
                               "batch, so 1 - t*t is about 0 for all of them and no gradient reaches their incoming "
                               "weights. They may never recover: start the layer smaller or lower the learning rate.",
                               p.name, p.deadUnits.size(), p.deadUnits.size() == 1 ? "" : "s", p.units, idx)});
  }
  if (out.empty() && (p.spec.saturation || p.spec.dead))
    out.push_back({Finding::Good, p.name,
                   fmt::format("Layer {} looks healthy: pre-activation std {:.2f}, {} of outputs with |t| > {}, no "
                               "dead units.",
                               p.name, p.preStd, percent(p.saturatedShare), p.saturation)});
  return out;
}

std::vector<Finding> updateRatios(const StatsSnapshot& s) {
  std::vector<Finding> out;
  for (const ParamStats& p : s.params) {
    double r = p.updateToData;
    if (!std::isfinite(r)) continue;  // all values equal (std 0): no scale to compare an update with
    if (r < kUpdateRatioLow)
      out.push_back({Finding::Warning, "update ratios",
                     fmt::format("{} learns slowly: each update is 10^{:.1f} of its spread, well below the ~10^-3 "
                                 "rule of thumb. The learning rate ({}) may be too low for it.",
                                 p.name, r, s.lr)});
    else if (r > kUpdateRatioHigh)
      out.push_back({Finding::Warning, "update ratios",
                     fmt::format("{} moves fast: each update is 10^{:.1f} of its spread, well above the ~10^-3 rule "
                                 "of thumb. The learning rate ({}) may be too high, or {} too small.",
                                 p.name, r, s.lr, p.name)});
  }
  if (out.empty() && !s.params.empty())
    out.push_back({Finding::Good, "update ratios",
                   "Every parameter's update-to-data ratio is near the ~10^-3 rule of thumb (between 10^-4 and 10^-2)."});
  return out;
}

}  // namespace

DiagnosisContext diagnosisContext(const ProbePlan& plan, int64_t vocab) {
  DiagnosisContext c;
  c.vocab = vocab;
  c.outputParams = plan.outputParams;
  for (const ProbeEntry& e : plan.probes)
    if (e.kind == ProbeEntry::Tanh) c.layerParams[e.name] = e.layerParams;
  return c;
}

std::vector<Finding> diagnose(const StatsSnapshot& s, const DiagnosisContext& c, bool initial) {
  std::vector<Finding> out;
  if (initial && c.vocab > 1 && std::isfinite(s.loss)) out.push_back(initialLoss(s, c));
  for (const ProbeStats& p : s.probes)
    if (p.tanh)
      for (Finding& f : tanhLayer(p, c)) out.push_back(std::move(f));
  if (!initial)
    for (Finding& f : updateRatios(s)) out.push_back(std::move(f));
  return out;
}

}  // namespace netc
