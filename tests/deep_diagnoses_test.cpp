// The stack-level diagnoses on the models they target, each through `netc run --steps 0` (the natural way to look
// at an initialisation): a ReLU layer with dead units, saturated sigmoids, a linear stack whose activations grow,
// and silence on the healthy models (the lecture's Kaiming MLP, BatchNorm models). Also what --steps 0 writes,
// the default probes beside @probe marks, and the end-of-training findings. The lecture's deep tanh network at
// four gains is in deep_stats_test.cpp, on PyTorch's weights.
#include <doctest/doctest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_netc.h"
#include "runtime/probes/diagnose.h"
#include "runtime/files/safetensors.h"
#include "runtime/probes/stats.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::runNetc;
using netc::testing::words;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static testing::ScratchDir dir("netc_deepdiag_");
  return dir.path();
}

const char* kHead = R"(data ")" NETC_SOURCE_DIR R"(/tests/data/pseudo_words.txt" { context = 3 }
input x : int[B, T]
input y : int[B]
param C : [V, 10] = randn
)";
// The train section, with `extra` settings.
std::string trainSection(const std::string& extra) { return "\ntrain {\n  batch = 32\n  seed = 5\n" + extra + "}\n"; }

struct Result {
  CommandResult cmd;
  std::string text;    // words(cmd.out)
  fs::path folder;
  std::vector<StatsSnapshot> stats;
};

// `netc run --steps 0` of a model body (after kHead), on the interpreter unless `jit`.
Result runAtInit(const std::string& name, const std::string& body, bool jit = false, const std::string& train = "") {
  fs::path model = scratch() / (name + ".net");
  std::ofstream(model) << kHead << body << trainSection(train);
  Result r;
  r.folder = scratch() / ("run_" + name);
  r.cmd = runNetc(fmt::format("run '{}' --steps 0 --engine {} --out '{}' --force", model.string(),
                              jit ? "jit" : "interp", r.folder.string()));
  r.text = words(r.cmd.out);
  if (r.cmd.status == 0) r.stats = readStatsLog((r.folder / "stats.jsonl").string());
  return r;
}

bool has(const Result& r, const std::string& s) { return r.text.find(s) != std::string::npos; }

}  // namespace

TEST_CASE("--steps 0 collects at initialisation: one record with gradients, the report, the weights untouched") {
  Result r = runAtInit("mlp", R"(
param W1 : [T*10, 64] = randn * (5/3) / sqrt(T*10)
param b1 : [64] = zeros
param W2 : [64, V] = randn * 0.01
param b2 : [V] = zeros
h = tanh(flatten(C[x]) @ W1 + b1)
logits = h @ W2 + b2
minimize cross_entropy(logits, y)
)", /*jit=*/true);
  INFO(r.cmd.out);
  REQUIRE(r.cmd.status == 0);
  REQUIRE(r.stats.size() == 1);
  const StatsSnapshot& s = r.stats[0];
  CHECK(s.step == 0);
  const ProbeStats* h = s.probe("h");
  REQUIRE(h);
  CHECK(h->grad.present);
  CHECK(h->grad.std > 0);
  double binned = h->grad.hist.under + h->grad.hist.over;
  for (double c : h->grad.hist.counts) binned += c;
  CHECK(binned + h->grad.zeroShare * static_cast<double>(h->rows * h->units) == doctest::Approx(32.0 * 64));
  REQUIRE(s.param("W1"));
  CHECK(s.param("W1")->grad.present);   // rank 2: its weight-gradient histogram
  CHECK(!s.param("b1")->grad.present);  // a bias has none
  CHECK(s.param("W1")->fanInScaled);
  CHECK(s.param("W1")->initGain == doctest::Approx(5.0 / 3));
  CHECK(has(r, "probe statistics at step 0 (initialisation)"));
  CHECK(r.cmd.out.find("\\n") == std::string::npos);  // the summary's lines as lines, not escaped
  CHECK(has(r, "Layer h looks healthy"));
  CHECK(fs::exists(r.folder / "report.html"));
  // No update: the saved weights are the initialisation `netc init` writes with the same seed.
  fs::path init = scratch() / "init.safetensors";
  CommandResult ir = runNetc(fmt::format("init '{}' --seed 5 --out '{}'", (scratch() / "mlp.net").string(), init.string()));
  REQUIRE_MESSAGE(ir.status == 0, ir.out);
  WeightMap a = loadSafetensors(init.string()), b = loadSafetensors((r.folder / "weights.safetensors").string());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    CHECK(b.at(name).data == t.data);
  }
}

TEST_CASE("diagnoses: a ReLU layer with units zero for every example of the batch") {
  // A bias a thousand times the weights' spread: about half of the units never see a positive input.
  Result r = runAtInit("relu", R"(
param W1 : [T*10, 200] = randn * 5
param b1 : [200] = randn * 1000
param W2 : [200, V] = randn * 0.0001
param b2 : [V] = zeros
h = relu(flatten(C[x]) @ W1 + b1)
logits = h @ W2 + b2
minimize cross_entropy(logits, y)
)");
  INFO(r.cmd.out);
  REQUIRE(r.cmd.status == 0);
  const ProbeStats* h = r.stats.at(0).probe("h");
  REQUIRE(h);  // probed by default: no @probe in the file
  CHECK(h->kind == "relu");
  CHECK(h->deadUnits.size() > 60);
  CHECK(h->deadUnits.size() < 140);
  CHECK(h->flatShare >= static_cast<double>(h->deadUnits.size()) / 200);
  CHECK(has(r, fmt::format("Layer h has {} dead units of 200", h->deadUnits.size())));
  CHECK(has(r, "relu passes no gradient"));
  CHECK(has(r, "leaky relu"));
}

TEST_CASE("diagnoses: saturated sigmoids, near 0 and near 1") {
  Result r = runAtInit("sigmoid", R"(
param W1 : [T*10, 100] = randn * 2
param W2 : [100, V] = randn * 0.01
s = sigmoid(flatten(C[x]) @ W1)
logits = s @ W2
minimize cross_entropy(logits, y)
)");
  INFO(r.cmd.out);
  REQUIRE(r.cmd.status == 0);
  const ProbeStats* s = r.stats.at(0).probe("s");
  REQUIRE(s);
  CHECK(s->kind == "sigmoid");
  CHECK(s->saturatedLowShare > 0.2);
  CHECK(s->saturatedHighShare > 0.2);
  CHECK(s->saturatedShare == doctest::Approx(s->saturatedLowShare + s->saturatedHighShare));
  CHECK(has(r, "Layer s is heavily saturated"));
  CHECK(has(r, "near 0"));
  CHECK(has(r, "s * (1 - s)"));
}

TEST_CASE("diagnoses: a linear stack at gain 5/3 grows with depth; @probe adds to the default probes") {
  std::string body = "const g = 5/3\n";
  for (int i = 1; i <= 4; ++i)
    body += fmt::format("param W{} : [{}, 100] = randn * g / sqrt({})\n", i, i == 1 ? "T*10" : "100",
                        i == 1 ? "T*10" : "100");
  body += "param W5 : [100, V] = randn * 0.01\n@probe\nl1 = flatten(C[x]) @ W1\n";
  for (int i = 2; i <= 4; ++i) body += fmt::format("@probe\nl{} = l{} @ W{}\n", i, i - 1, i);
  body += "t = tanh(l4)\nlogits = t @ W5\nminimize cross_entropy(logits, y)\n";
  Result r = runAtInit("linear", body);
  INFO(r.cmd.out);
  REQUIRE(r.cmd.status == 0);
  const StatsSnapshot& s = r.stats.at(0);
  for (const char* name : {"l1", "l2", "l3", "l4", "t", "logits"}) CHECK_MESSAGE(s.probe(name), name);
  CHECK(s.probe("l4")->std > 3 * s.probe("l1")->std);
  CHECK(has(r, "The activations grow with depth"));
  CHECK(has(r, "their weights start at gain 1.67"));
  CHECK(has(r, "gain 1 (randn / sqrt(fan_in))"));

  // probes = marked: the marked values and the logits only.
  Result m = runAtInit("linear_marked", body, false, "  probes = marked\n");
  INFO(m.cmd.out);
  REQUIRE(m.cmd.status == 0);
  CHECK(m.stats.at(0).probe("l1"));
  CHECK(m.stats.at(0).probe("logits"));
  CHECK(!m.stats.at(0).probe("t"));
}

TEST_CASE("diagnoses: silent on healthy models (Kaiming MLP, BatchNorm)") {
  for (const char* model : {"mlp_kaiming", "mlp_batchnorm", "deep_batchnorm"}) {
    INFO(model);
    fs::path out = scratch() / (std::string("healthy_") + model);
    CommandResult r = runNetc(fmt::format("run models/{}.net --data tests/data/pseudo_words.txt --steps 0 --out '{}' --force",
                                          model, out.string()));
    INFO(r.out);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("\n  !") == std::string::npos);
    CHECK(r.out.find("healthy") != std::string::npos);
    std::vector<StatsSnapshot> s = readStatsLog((out / "stats.jsonl").string());
    REQUIRE(s.size() == 1);
    bool batchnormProbed = std::string(model) == "mlp_kaiming";
    for (const ProbeStats& p : s[0].probes) batchnormProbed = batchnormProbed || p.name.find("batchnorm@") != std::string::npos || p.name == "hbn";
    CHECK_MESSAGE(batchnormProbed, "a BatchNorm output is a default probe");
  }
}

TEST_CASE("diagnoses at the end: saturation that grew in training, never advice to use an initialisation it has") {
  auto layer = [](double saturated) {
    ProbeStats p;
    p.name = "h", p.kind = "tanh", p.layer = true, p.rows = 32, p.units = 200;
    p.std = 0.8, p.preStd = 2, p.saturation = 0.97;
    p.saturatedShare = p.saturatedHighShare = saturated / 2 + saturated / 2;
    p.saturatedLowShare = saturated / 2, p.saturatedHighShare = saturated / 2;
    return p;
  };
  auto snapshot = [&](int64_t step, double saturated) {
    StatsSnapshot s;
    s.step = step, s.lr = 0.1;
    s.probes.push_back(layer(saturated));
    ParamStats w;
    w.name = "W1", w.shape = {30, 200}, w.initGain = 5.0 / 3, w.fanInScaled = true, w.updateToData = -3;
    s.params.push_back(w);
    return s;
  };
  DiagnosisContext c;
  c.vocab = 27;
  c.layerParams["h"] = {"W1", "b1"};
  StatsSnapshot first = snapshot(0, 0.05), last = snapshot(200000, 0.40);
  std::string all;
  for (const Finding& f : diagnose(last, c, false, &first)) all += f.text + "\n";
  INFO(all);
  CHECK(all.find("Saturation grew during training (h from 5.0% at step 0)") != std::string::npos);
  CHECK(all.find("Kaiming") == std::string::npos);
  CHECK(all.find("fan-in scaled") == std::string::npos);
  // Saturated from the start with the lecture's own gain (mlp_kaiming's h at the end of a run near 29%): no advice
  // to change a gain that is already 5/3.
  StatsSnapshot kaiming0 = snapshot(0, 0.30), kaiming = snapshot(30000, 0.30);
  std::string same;
  for (const Finding& f : diagnose(kaiming, c, false, &kaiming0)) same += f.text + "\n";
  INFO(same);
  CHECK(same.find("already start fan-in scaled at gain 1.67") != std::string::npos);
  CHECK(same.find("too large") == std::string::npos);
  CHECK(same.find("Kaiming") == std::string::npos);
  // With Adam the step is not lr * grad: no "learns slowly" from a ratio that is not its update.
  StatsSnapshot slow = snapshot(5000, 0.05);
  slow.params[0].updateToData = -6;
  DiagnosisContext adam = c;
  adam.stepIsLrTimesGrad = false;
  std::string sgdText, adamText;
  for (const Finding& f : diagnose(slow, c, false)) sgdText += f.text + "\n";
  for (const Finding& f : diagnose(slow, adam, false)) adamText += f.text + "\n";
  CHECK(sgdText.find("W1 learns slowly") != std::string::npos);
  CHECK(adamText.find("learns slowly") == std::string::npos);
  CHECK(adamText.find("not judged") != std::string::npos);
  // The same layer saturated from the start, with weights that are not fan-in scaled: then the advice is Kaiming.
  StatsSnapshot big = snapshot(0, 0.40);
  big.params[0].fanInScaled = false, big.params[0].initGain = 10;
  std::string start;
  for (const Finding& f : diagnose(big, c, true)) start += f.text + "\n";
  CHECK(start.find("Kaiming") != std::string::npos);
}
