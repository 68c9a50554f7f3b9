#include "runtime/probes/diagnose.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "graph/scope_path.h"
#include "ops/op.h"

namespace netc {

namespace {

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i)
    out += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
  return out;
}

std::string percent(double share) { return fmt::format("{:.1f}%", 100 * share); }
std::string sig(double v) { return fmt::format("{:.3g}", v); }

Finding initialLoss(const StatsSnapshot& s, const DiagnosisContext& c) {
  double baseline = std::log(static_cast<double>(c.vocab));
  std::string cmp = fmt::format("The initial loss is {:.2f}; a uniform guess over the {} symbols scores -ln(1/{}) = {:.2f}",
                                s.loss, c.vocab, c.vocab, baseline);
  if (!(s.loss > kSomewhatHigh * baseline))
    return {Finding::Good, "initial loss",
            cmp + ". The output layer starts unopinionated, as it should: no steps are wasted undoing a bad start."};
  std::string spread;
  for (const ProbeStats& p : s.probes)
    if (p.logits && !p.layer)
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

// ---- the stack of activation layers ----

// The layers of one kind, in graph order: activation layers ("tanh", "sigmoid", "relu"), or "value" for the
// other probed values (a linear layer's output, a BatchNorm output), the logits left out.
std::vector<const ProbeStats*> stackOf(const StatsSnapshot& s, const std::string& kind) {
  std::vector<const ProbeStats*> out;
  for (const ProbeStats& p : s.probes)
    if (p.kind == kind && !p.logits && p.units > 1) out.push_back(&p);
  return out;
}

std::string names(const std::vector<const ProbeStats*>& layers) {
  std::vector<std::string> n;
  for (const ProbeStats* p : layers) n.push_back(p->name);
  return joinNames(n);
}

// "0.41, 0.20, 0.10" of a per-layer number.
template <class F>
std::string series(const std::vector<const ProbeStats*>& layers, F f) {
  std::string out;
  for (const ProbeStats* p : layers) out += (out.empty() ? "" : ", ") + f(*p);
  return out;
}

// The rank-2 weights feeding a layer (its layerParams with a gain), and what they say about its initialisation.
struct LayerInit {
  std::vector<std::string> params;  // every parameter feeding it linearly
  double gain = std::nan("");       // of its first rank-2 randn weight
  bool fanInScaled = false;
};
LayerInit layerInit(const StatsSnapshot& s, const DiagnosisContext& c, const ProbeStats& p) {
  LayerInit li;
  auto lp = c.layerParams.find(p.name);
  if (lp == c.layerParams.end()) return li;
  li.params = lp->second;
  for (const std::string& name : li.params)
    if (const ParamStats* w = s.param(name); w && std::isfinite(w->initGain)) {
      li.gain = w->initGain, li.fanInScaled = w->fanInScaled;
      break;
    }
  return li;
}

// The gains of a stack's weights, "3.00" when they agree, "0.50 to 1.00" otherwise; "" when unknown.
std::string stackGain(const StatsSnapshot& s, const DiagnosisContext& c, const std::vector<const ProbeStats*>& layers) {
  double lo = INFINITY, hi = -INFINITY;
  for (const ProbeStats* p : layers) {
    double g = layerInit(s, c, *p).gain;
    if (std::isfinite(g)) lo = std::min(lo, g), hi = std::max(hi, g);
  }
  if (!std::isfinite(lo)) return "";
  return hi - lo < 1e-6 * hi ? fmt::format("{:.2f}", lo) : fmt::format("{:.2f} to {:.2f}", lo, hi);
}

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// The gain that keeps a stack of this activation's layers at a steady spread (Kaiming's for tanh and relu).
double recommendedGain(const std::string& kind) {
  const ActivationFacts* a = activationFacts(kind);
  return a ? a->gain : 1;
}

const char* kindGainAdvice(const std::string& kind) {
  if (const ActivationFacts* a = activationFacts(kind)) return a->gainAdvice;
  return "a linear layer keeps the spread of its input at gain 1 (randn / sqrt(fan_in))";
}

// Saturated tanh or sigmoid layers: one finding for the stack.
void saturation(const StatsSnapshot& s, const DiagnosisContext& c, const std::vector<const ProbeStats*>& layers,
                const StatsSnapshot* first, std::vector<Finding>& out) {
  std::vector<const ProbeStats*> sat;
  for (const ProbeStats* p : layers)
    if (p->spec.saturation && p->saturatedShare > kSaturatedShare) sat.push_back(p);
  if (sat.empty()) return;
  const std::string& kind = sat[0]->kind;
  const bool sigmoid = activationFacts(kind)->centredAtHalf;  // outputs in [0, 1]: saturated near 0 or 1
  const double thr = sat[0]->saturation;
  auto share = [&](const ProbeStats& p) {
    return sigmoid ? fmt::format("{} ({} near 0, {} near 1)", percent(p.saturatedShare), percent(p.saturatedLowShare),
                                 percent(p.saturatedHighShare))
                   : percent(p.saturatedShare);
  };
  std::string what = sigmoid ? fmt::format("s < {:.2g} or s > {}", 1 - thr, thr) : fmt::format("|t| > {}", thr);
  std::string local = sigmoid ? fmt::format("the local gradient s * (1 - s) is below {:.3f} (at most 0.25)", thr * (1 - thr))
                              : fmt::format("the local gradient 1 - t*t is below {:.2f}", 1 - thr * thr);
  std::string list;
  for (const ProbeStats* p : sat)
    list += fmt::format("{}{} {} (pre-activation std {:.2f})", list.empty() ? "" : ", ", p->name, share(*p), p->preStd);
  // At the end: did training saturate them, or were they so from the start?
  std::vector<std::string> grew;
  if (first)
    for (const ProbeStats* p : sat)
      if (const ProbeStats* p0 = first->probe(p->name); p0 && p0->saturatedShare <= kSaturatedShare)
        grew.push_back(fmt::format("{} from {} at step 0", p->name, percent(p0->saturatedShare)));
  bool allFanIn = true;
  double maxGain = 0;
  std::vector<std::string> params;
  for (const ProbeStats* p : sat) {
    LayerInit li = layerInit(s, c, *p);
    allFanIn = allFanIn && li.fanInScaled;
    if (std::isfinite(li.gain)) maxGain = std::max(maxGain, li.gain);
    for (const std::string& name : li.params)  // a stack's biases are left out: its weights make the point
      if (const ParamStats* w = s.param(name); sat.size() == 1 || !w || w->shape.size() != 1) params.push_back(name);
  }
  std::string gain = stackGain(s, c, sat);
  std::string fix;
  if (!grew.empty())
    fix = fmt::format(" Saturation grew during training ({}): the learning rate may be too high for these layers, or "
                      "their inputs drift; BatchNorm before the {} keeps the pre-activations in range.",
                      joinNames(grew), kind);
  else if (allFanIn && !gain.empty() && maxGain > 1.05 * recommendedGain(kind))
    fix = fmt::format(" Their weights start fan-in scaled at gain {}: the gain is too large, {}; or put BatchNorm "
                      "before each {}.",
                      gain, kindGainAdvice(kind), kind);
  else if (allFanIn && !gain.empty())
    fix = fmt::format(" Their weights already start fan-in scaled at gain {}, as the lecture's: the inputs are wider "
                      "than one unit of spread. BatchNorm before the {} normalises the pre-activations whatever "
                      "comes in.",
                      gain, kind);
  else
    fix = fmt::format(" The pre-activations are too wide: scale {} down, e.g. Kaiming: {}; or put BatchNorm before "
                      "the {}.",
                      params.empty() ? "the weights feeding them" : joinNames(params), kindGainAdvice(kind), kind);
  std::string head;
  if (sat.size() == layers.size() && layers.size() >= 2)
    head = fmt::format("Every {} layer is saturated: {} of their outputs have {}.", kind, list, what);
  else if (sat.size() == 1)
    head = fmt::format("Layer {} is {}saturated: {} of its outputs have {} (pre-activation std {:.2f}).", sat[0]->name,
                       sat[0]->saturatedShare > kHeavilySaturated ? "heavily " : "", share(*sat[0]), what,
                       sat[0]->preStd);
  else
    head = fmt::format("{} of the {} {} layers are saturated: {} of their outputs have {}.", sat.size(), layers.size(),
                       kind, list, what);
  bool gates = sigmoid && std::any_of(sat.begin(), sat.end(), [](const ProbeStats* p) { return p->series(); });
  if (gates)
    fix += " In a recurrent cell these sigmoids are gates: one stuck near 0 or 1 no longer chooses, it always "
           "blocks or always passes what it gates (a GRU's update gate z near 0 copies the old state through, near "
           "1 replaces it), whatever the input.";
  out.push_back({Finding::Warning, sat.size() == 1 ? sat[0]->name : "stack",
                 head + fmt::format(" There {}, so little gradient flows back through them{}.", local,
                                    params.empty() ? ""
                                                   : fmt::format(" and {} learn{} slowly", joinNames(params),
                                                                 params.size() == 1 ? "s" : "")) +
                     fix});
}

// Dead units of any activation: one finding for the stack.
void deadUnits(const std::vector<const ProbeStats*>& layers, const StatsSnapshot* first, std::vector<Finding>& out) {
  std::vector<const ProbeStats*> dead;
  for (const ProbeStats* p : layers)
    if (p->spec.dead && !p->deadUnits.empty()) dead.push_back(p);
  if (dead.empty()) return;
  const std::string& kind = dead[0]->kind;
  // "index 5, 6, 8, ... 48 more, 2 at step 0"
  auto indices = [&](const ProbeStats& p) {
    std::string idx = "index ";
    size_t shown = std::min<size_t>(p.deadUnits.size(), 16);
    for (size_t i = 0; i < shown; ++i) idx += (i ? ", " : "") + std::to_string(p.deadUnits[i]);
    if (shown < p.deadUnits.size()) idx += fmt::format(", ... {} more", p.deadUnits.size() - shown);
    if (first)
      if (const ProbeStats* p0 = first->probe(p.name); p0 && p0->deadUnits.size() < p.deadUnits.size())
        idx += fmt::format("; {} at step 0", p0->deadUnits.size());
    return idx;
  };
  std::string list;
  for (const ProbeStats* p : dead)
    list += fmt::format("{}{}: {} of {} ({})", list.empty() ? "" : "; ", p->name, p->deadUnits.size(), p->units,
                        indices(*p));
  size_t total = 0;
  for (const ProbeStats* p : dead) total += p->deadUnits.size();
  const ActivationFacts& facts = *activationFacts(kind);
  const std::string why = facts.deadWhy, fix = facts.deadFix;
  std::string head =
      dead.size() == 1
          ? fmt::format("Layer {} has {} dead unit{} of {} ({})", dead[0]->name, total, total == 1 ? "" : "s",
                        dead[0]->units, indices(*dead[0]))
          : fmt::format("{} dead units in {} {} layers ({})", total, dead.size(), kind, list);
  out.push_back({Finding::Warning, dead.size() == 1 ? dead[0]->name : "stack", fmt::format("{}: {}. {}.", head, why, fix)});
}

// Beside shrinking activations, the lecture's other half of the picture: the gradients grow with depth (the
// last layers get more than the first), "" when they do not.
std::string gradientsGrow(const std::vector<const ProbeStats*>& layers) {
  const GradStats& a = layers.front()->grad;
  const GradStats& z = layers.back()->grad;
  if (!a.present || !z.present || !(a.std > 0) || !(z.std < INFINITY) || !(a.std < 0.8 * z.std)) return "";
  return fmt::format(" Meanwhile the gradients grow with depth: their std is {} at {} and {} at {}, so the layers "
                     "learn at different speeds.",
                     sig(a.std), layers.front()->name, sig(z.std), layers.back()->name);
}

// Activations that shrink or grow from layer to layer.
void depthTrend(const StatsSnapshot& s, const DiagnosisContext& c, const std::vector<const ProbeStats*>& layers,
                std::vector<Finding>& out) {
  if (layers.size() < 2) return;
  for (const ProbeStats* p : layers)
    if (!p->spec.stats || !std::isfinite(p->std) || !(p->std > 0)) return;
  const std::string& kind = layers[0]->kind;
  double per = std::pow(layers.back()->std / layers.front()->std, 1.0 / static_cast<double>(layers.size() - 1));
  std::string stds = series(layers, [](const ProbeStats& p) { return fmt::format("{:.2f}", p.std); });
  std::string gain = stackGain(s, c, layers);
  std::string gainText = gain.empty() ? "" : fmt::format(" (their weights start at gain {})", gain);
  if (per < kShrinkPerLayer) {
    std::vector<std::string> small;
    for (size_t i = 1; i < layers.size(); ++i)
      if (layers[i]->layer && layers[i]->preStd < kSmallPreStd)
        small.push_back(fmt::format("{} {:.2f}", layers[i]->name, layers[i]->preStd));
    out.push_back({Finding::Warning, "stack",
                   fmt::format("The activations shrink from layer to layer: output std {} (x{:.2f} per layer){}.{} "
                               "The gain is too small{}: each layer's weights shrink the spread of their input, and "
                               "the last layers see almost nothing.{} {}; or put BatchNorm before each {}.",
                               stds, per, kind == "value" ? "" : fmt::format(" through the {} {} layers", layers.size(), kind),
                               small.empty() ? "" : fmt::format(" Pre-activation std far below 1: {}.", joinNames(small)),
                               gainText, gradientsGrow(layers), capitalised(kindGainAdvice(kind)),
                               kind == "value" ? "nonlinearity" : kind)});
  } else if (per > kGrowPerLayer) {
    out.push_back({Finding::Warning, "stack",
                   fmt::format("The activations grow with depth: output std {} (x{:.2f} per layer). The gain is too "
                               "large{} for a stack that does not squash its values: every layer multiplies the spread "
                               "of its input. {}; or put BatchNorm after each layer.",
                               stds, per, gainText, capitalised(kindGainAdvice(kind)))});
  }
}

// Gradients that vanish or explode on their way back through the stack.
void gradientTrend(const std::vector<const ProbeStats*>& layers, std::vector<Finding>& out) {
  if (layers.size() < 2) return;
  for (const ProbeStats* p : layers)
    if (!p->grad.present || !std::isfinite(p->grad.std) || !(p->grad.std > 0)) return;
  double ratio = layers.front()->grad.std / layers.back()->grad.std;
  std::string stds = series(layers, [](const ProbeStats& p) { return sig(p.grad.std); });
  if (ratio < 1 / kGradDepthRatio)
    out.push_back({Finding::Warning, "gradients",
                   fmt::format("The gradients vanish on their way back: the std of d loss / d activation is {} from {} "
                               "to {}, so {} gets {}x less gradient than {} and the first layers learn slowly. Each "
                               "layer passes back less than it gets: too small a gain, or saturated units (1 - t*t near "
                               "0). Fan-in scaled weights with the activation's gain, or BatchNorm, keep it steady.",
                               stds, layers.front()->name, layers.back()->name, layers.front()->name, sig(1 / ratio),
                               layers.back()->name)});
  else if (ratio > kGradDepthRatio)
    out.push_back({Finding::Warning, "gradients",
                   fmt::format("The gradients grow on their way back: the std of d loss / d activation is {} from {} to "
                               "{}, so {} gets {}x more gradient than {}: the first layers take the largest steps and may "
                               "become unstable. The gain is too large; fan-in scaled weights with the activation's "
                               "gain, or BatchNorm, keep it steady.",
                               stds, layers.front()->name, layers.back()->name, layers.front()->name, sig(ratio),
                               layers.back()->name)});
}

// Backpropagation through time, per loop value: the gradient's std at its first step against its last, each the
// first or last step with any gradient at all (a reset gate at t = 0 gates a zero start state and gets none;
// positions past the end of every word of the batch get none either).
void throughTime(const StatsSnapshot& s, std::vector<Finding>& out) {
  struct Trend {
    const ProbeStats* p;
    int64_t t0, t1;
    double g0, g1;
  };
  std::vector<Trend> vanish, steady;
  for (const ProbeStats& p : s.probes) {
    if (!p.series() || !p.grad.present) continue;
    const std::vector<ProbeStats>& st = p.timeSteps;
    auto has = [&](size_t k) { return st[k].grad.flows(); };
    size_t a = 0, b = st.size() - 1;
    while (a < st.size() && !has(a)) ++a;
    while (b > a && !has(b)) --b;
    if (a >= b) continue;
    Trend tr{&p, p.firstStep + static_cast<int64_t>(a), p.firstStep + static_cast<int64_t>(b), st[a].grad.std,
             st[b].grad.std};
    (tr.g0 * kVanishThroughTime < tr.g1 ? vanish : steady).push_back(tr);
  }
  auto base = [](const ProbeStats& p) { return localName(p.timeSteps.front().name, p.timeSteps.front().scope); };
  auto list = [&](const std::vector<Trend>& ts) {
    std::string text;
    for (size_t i = 0; i < ts.size(); ++i)
      text += fmt::format("{}d loss / d {} has std {} at t = {} and {} at t = {}", i == 0 ? "" : "; ", base(*ts[i].p),
                          sig(ts[i].g0), ts[i].t0, sig(ts[i].g1), ts[i].t1);
    return text;
  };
  if (!vanish.empty()) {
    double worst = INFINITY;
    for (const Trend& t : vanish) worst = std::min(worst, t.g0 / t.g1);
    out.push_back({Finding::Warning, "through time",
                   fmt::format("Gradients vanish through time: {}. At the first step the gradient is 10^{:.1f} of the "
                               "one at the last: what the loss says about the later positions hardly reaches the early "
                               "ones, so the model cannot learn what depends on the start of the sequence. Each step "
                               "back multiplies the gradient by the recurrent weights and the activation's local "
                               "derivative (1 - h*h for tanh); when that shrinks it, it fades exponentially with the "
                               "distance. A gated cell (a GRU's h = (1 - z) * h + z * hbar passes the gradient along "
                               "where z is near 0), recurrent weights at a larger gain, or shorter sequences help.",
                               list(vanish), std::log10(worst))});
  } else if (!steady.empty()) {
    out.push_back({Finding::Good, "through time",
                   fmt::format("The gradient reaches the first steps back in time: {} (the first and last steps with any "
                               "gradient), no fall by orders of magnitude.",
                               list(steady))});
  }
}

// One line for a stack nothing was found in.
Finding healthy(const std::vector<const ProbeStats*>& layers) {
  const ProbeStats& a = *layers.front();
  const ProbeStats& z = *layers.back();
  auto range = [&](double x, double y, auto f) { return layers.size() == 1 ? f(x) : f(x) + " to " + f(y); };
  auto two = [](double v) { return fmt::format("{:.2f}", v); };
  std::string text = layers.size() == 1 ? fmt::format("Layer {} looks healthy:", a.name)
                     : a.layer ? fmt::format("The {} {} layers look healthy ({}):", layers.size(), a.kind, names(layers))
                               : fmt::format("The {} probed values {} keep a steady spread:", layers.size(), names(layers));
  text += fmt::format(" output std {}", range(a.std, z.std, two));
  if (a.layer) {
    text += fmt::format(", pre-activation std {}", range(a.preStd, z.preStd, two));
    const ActivationFacts& facts = *activationFacts(a.kind);
    if (facts.centredAtHalf)
      text += fmt::format(", {} saturated (s < {:.2g} or s > {})", range(a.saturatedShare, z.saturatedShare, percent),
                          1 - a.saturation, a.saturation);
    else if (facts.flat == ActivationFacts::Saturates)
      text += fmt::format(", {} saturated (|t| > {})", range(a.saturatedShare, z.saturatedShare, percent), a.saturation);
    else
      text += fmt::format(", {} of outputs zero", range(a.flatShare, z.flatShare, percent));
    text += ", no dead units";
  }
  if (a.grad.present && z.grad.present) text += fmt::format(", gradient std {}", range(a.grad.std, z.grad.std, sig));
  return {Finding::Good, layers.size() == 1 ? a.name : "stack", text + "."};
}

void stackFindings(const StatsSnapshot& s, const DiagnosisContext& c, const StatsSnapshot* first,
                   std::vector<Finding>& out) {
  // The activation layers, one stack per activation op in registry order, then the other probed values.
  std::vector<std::string> kinds;
  for (const OpDef* op : allOps())
    if (op->activation) kinds.push_back(op->name);
  kinds.push_back("value");
  for (const std::string& kind : kinds) {
    std::vector<const ProbeStats*> layers = stackOf(s, kind);
    if (layers.empty()) continue;
    const size_t before = out.size();
    if (const ActivationFacts* facts = activationFacts(kind)) {
      if (facts->flat == ActivationFacts::Saturates) saturation(s, c, layers, first, out);
      deadUnits(layers, first, out);
    }
    // Depth trends are about a stack of layers one after the other; the steps of a loop value are one layer
    // over time (judged by throughTime), and two gates of one cell are side by side, not stacked.
    std::vector<const ProbeStats*> depth;
    for (const ProbeStats* p : layers)
      if (!p->series()) depth.push_back(p);
    depthTrend(s, c, depth, out);
    gradientTrend(depth, out);
    bool judged = false;  // a value stack is only judged on its trend: one value alone says nothing
    for (const ProbeStats* p : layers) judged = judged || p->layer || layers.size() >= 2;
    if (out.size() == before && judged) out.push_back(healthy(layers));
  }
}

// ---- parameters ----

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? std::nan("") : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// At initialisation, a weight whose grad:data stands out from the others'.
void gradToDataOutliers(const StatsSnapshot& s, const DiagnosisContext& c, std::vector<Finding>& out) {
  std::vector<const ParamStats*> weights;
  for (const ParamStats& p : s.params)
    if (p.shape.size() == 2 && std::isfinite(p.gradToData) && p.gradToData > 0) weights.push_back(&p);
  if (weights.size() < 3) return;
  for (const ParamStats* w : weights) {
    std::vector<double> others;
    for (const ParamStats* o : weights)
      if (o != w) others.push_back(o->gradToData);
    double m = median(others);
    if (!(w->gradToData > kGradToDataOutlier * m)) continue;
    // Only the output layer's outlier is the lecture's (a layer shrunk on purpose); an embedding table's ratio
    // depends on how many lookups hit each row, and is no sign of a bad scale.
    if (std::find(c.outputParams.begin(), c.outputParams.end(), w->name) == c.outputParams.end()) continue;
    out.push_back({Finding::Good, "update ratios",
                   fmt::format("{}'s grad:data ratio ({}) is {}x the other weights' (median {}) at initialisation. "
                               "This is the output layer, started small on purpose (data std {}) so that the first "
                               "guess is near uniform: the same size of gradient is large against so small a spread. "
                               "It settles as training grows {}; it is not a sign of a wrong learning rate.",
                               w->name, sig(w->gradToData), sig(w->gradToData / m), sig(m), sig(w->dataStd), w->name)});
  }
}

// After step 0, the lecture's plot: the weights' update-to-data ratios against the ~1e-3 rule (biases, started at
// zero or tiny on purpose, are not judged).
std::vector<Finding> updateRatios(const StatsSnapshot& s, const DiagnosisContext& c) {
  std::vector<Finding> out;
  if (!c.stepIsLrTimesGrad) {
    // Momentum and Adam step by a running average (Adam: lr * m / sqrt(v)), so lr * grad is not the update
    // they take, and the ~1e-3 rule of thumb, made for sgd, says nothing about it.
    if (!s.params.empty())
      out.push_back({Finding::Good, "update ratios",
                     "Update-to-data ratios are not judged: this optimizer's step is not lr * grad (Adam's is "
                     "lr * m / sqrt(v)), so the ~10^-3 rule of thumb of the lecture's sgd does not apply to "
                     "log10(std(lr * grad) / std(W))."});
    return out;
  }
  size_t judged = 0;
  for (const ParamStats& p : s.params) {
    double r = p.updateToData;
    if (p.shape.size() == 1 || !std::isfinite(r)) continue;  // a bias, or all values equal: nothing to compare
    ++judged;
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
  if (out.empty() && judged > 0)
    out.push_back({Finding::Good, "update ratios",
                   "Every weight's update-to-data ratio is near the ~10^-3 rule of thumb (between 10^-4 and 10^-2)."});
  return out;
}

}  // namespace

DiagnosisContext diagnosisContext(const ProbePlan& plan, int64_t vocab) {
  DiagnosisContext c;
  c.vocab = vocab;
  c.outputParams = plan.outputParams;
  c.stepIsLrTimesGrad = plan.stepIsLrTimesGrad;
  for (const ProbeEntry& e : plan.probes) c.layerParams[e.name] = e.layerParams;
  return c;
}

std::vector<Finding> diagnose(const StatsSnapshot& s, const DiagnosisContext& c, bool initial,
                              const StatsSnapshot* first) {
  std::vector<Finding> out;
  if (initial && c.vocab > 1 && std::isfinite(s.loss)) out.push_back(initialLoss(s, c));
  stackFindings(s, c, initial ? nullptr : first, out);
  throughTime(s, out);
  if (initial) gradToDataOutliers(s, c, out);
  else
    for (Finding& f : updateRatios(s, c)) out.push_back(std::move(f));
  return out;
}

}  // namespace netc
