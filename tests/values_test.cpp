// `netc grad --values` against PyTorch: makemore part 4's model (models/backprop_ninja.net), whose forward pass is
// written in the notebook's atoms, and the gradient of the loss with respect to every one of the notebook's
// intermediates, from the fixture tools/torch_backprop_ninja.py writes (the notebook's own code, float64,
// retain_grad() on every intermediate). The interpreter must agree to 1e-6 relative, the JIT to float32
// accuracy; the largest difference of each value is printed (the README's table).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>

#include "run_netc.h"
#include "runtime/files/safetensors.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

const std::string kNinja = "models/backprop_ninja.net --data tests/data/pseudo_words.txt";
const std::string kFixture = "tests/fixtures/backprop_ninja/";  // for netc, run from the repository root
const std::string kFixtureHere = NETC_SOURCE_DIR "/" + kFixture;  // for this process, run from build/

// The notebook's intermediates, in the order of its forward pass, and its parameters.
const std::vector<std::string> kIntermediates = {
    "emb",     "embcat", "hprebn", "bnmeani",     "bndiff",      "bndiff2",    "bnvar",
    "bnvar_inv", "bnraw", "hpreact", "h",         "logits",      "logit_maxes", "norm_logits",
    "counts",  "counts_sum", "counts_sum_inv", "probs", "logprobs"};
const std::vector<std::string> kParameters = {"C", "W1", "b1", "W2", "b2", "bngain", "bnbias"};

fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_values_");
  return dir.path();
}

// Two of the notebook's gradients are exactly zero in exact arithmetic: b1's (BatchNorm subtracts the batch mean,
// so the bias cancels) and logit_maxes' (the max is subtracted and added back through the softmax). PyTorch's
// values there are rounding noise near 1e-17, so every difference is judged against at least 1e-3, the order of
// the model's smallest nonzero gradients: a nonzero gradient where there should be none still fails.
constexpr double kSmallestScale = 1e-3;

struct Difference {
  double maxAbs = 0, scale = 0;
  double relative() const { return maxAbs / std::max(scale, kSmallestScale); }
};

// The largest absolute difference, and the largest expected magnitude it is judged against (per-element relative
// error means nothing for the many entries near zero).
Difference difference(const NamedTensor& got, const NamedTensor& want) {
  REQUIRE(got.data.size() == want.data.size());
  Difference d;
  for (size_t i = 0; i < got.data.size(); ++i) {
    const double e = std::fabs(got.data[i] - want.data[i]);
    d.maxAbs = std::isnan(e) ? INFINITY : std::max(d.maxAbs, e);
    d.scale = std::max(d.scale, std::fabs(want.data[i]));
  }
  return d;
}

// Runs `netc grad --values` on the fixture and returns the loss it prints and what it wrote.
WeightMap gradValues(bool interp, double& loss, const std::string& extra = "--values") {
  const std::string out = (scratch() / (interp ? "interp.safetensors" : "jit.safetensors")).string();
  CommandResult r = runNetc(fmt::format("grad {} --weights {}weights.safetensors --inputs {}batch.safetensors --out {} {}{}",
                                        kNinja, kFixture, kFixture, out, extra, interp ? " --interp" : ""));
  INFO(r.out);
  REQUIRE(r.status == 0);
  REQUIRE(std::sscanf(r.out.c_str(), "loss %lf", &loss) == 1);
  CHECK(r.has(fmt::format("{} gradients and ", kParameters.size())));
  return loadSafetensors(out);
}

}  // namespace

TEST_CASE("values: netc grad --values equals PyTorch's retain_grad() on every intermediate of makemore part 4") {
  const WeightMap expected = loadSafetensors(kFixtureHere + "expected.safetensors");
  std::string table = "value            shape       interpreter max |diff|  (relative)   jit max |diff|  (relative)\n";
  double lossInterp = 0, lossJit = 0;
  const WeightMap interp = gradValues(true, lossInterp);
  const WeightMap jit = gradValues(false, lossJit);
  const double wantLoss = expected.at("loss").data[0];
  CHECK(std::fabs(lossInterp - wantLoss) <= 1e-6 * std::fabs(wantLoss));
  CHECK(std::fabs(lossJit - wantLoss) <= 1e-5 * std::fabs(wantLoss));
  std::vector<std::string> all = kIntermediates;
  all.insert(all.end(), kParameters.begin(), kParameters.end());
  for (const std::string& name : all) {
    INFO("value ", name);
    REQUIRE(expected.count(name));
    REQUIRE_MESSAGE(interp.count(name), "the interpreter's --values output has no '", name, "'");
    REQUIRE_MESSAGE(jit.count(name), "the JIT's --values output has no '", name, "'");
    const NamedTensor& want = expected.at(name);
    CHECK(interp.at(name).shape == want.shape);
    CHECK(jit.at(name).shape == want.shape);
    const Difference di = difference(interp.at(name), want), dj = difference(jit.at(name), want);
    CHECK(di.relative() < 1e-6);
    CHECK(dj.relative() < 2e-5);
    std::vector<std::string> dims;
    for (int64_t d : want.shape) dims.push_back(std::to_string(d));
    table += fmt::format("{:<16} {:<11} {:>22.3e}  ({:.1e})   {:>14.3e}  ({:.1e})\n", name,
                         "[" + fmt::format("{}", fmt::join(dims, ", ")) + "]", di.maxAbs, di.relative(), dj.maxAbs,
                         dj.relative());
  }
  MESSAGE("netc grad --values against PyTorch float64 (tests/fixtures/backprop_ninja):\n" << table);
}

TEST_CASE("values: --values=NAME,NAME writes only those; misuse is a clear usage error") {
  double loss = 0;
  WeightMap some = gradValues(true, loss, "--values=embcat,logit_maxes");
  CHECK(some.count("embcat"));
  CHECK(some.count("logit_maxes"));
  CHECK_FALSE(some.count("hprebn"));
  CHECK(some.count("W1"));  // the parameters' gradients as always
  auto misuse = [&](const std::string& flag) {
    return runNetc(fmt::format("grad {} --weights {}weights.safetensors --inputs {}batch.safetensors --out {} {} --interp",
                               kNinja, kFixture, kFixture, (scratch() / "never.safetensors").string(), flag));
  };
  CommandResult r = misuse("--values=logprob");
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.has("--values: the model has no value named 'logprob' (did you mean 'logprobs'?)"), r.out);
  r = misuse("--values=Xb");
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.has("--values: 'Xb' has no gradient of its own to write: it is an input, fed by the batch"), r.out);
  r = misuse("--values=W1");
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.has("'W1' has no gradient of its own to write: it is a parameter"), r.out);
  r = misuse("--values=h,,probs");
  CHECK(r.status == 2);
  CHECK_MESSAGE(r.has("--values: an empty name"), r.out);
  CHECK_FALSE(fs::exists(scratch() / "never.safetensors"));
}

TEST_CASE("values: the values of a loop's steps are named NAME@tK, and the JIT keeps each one's gradient") {
  // The RNN fixture: h, xh and the stacked logits; the JIT's gradients must equal the interpreter's.
  const std::string base = "grad tests/fixtures/torch_rnn.net --weights tests/fixtures/torch_rnn_weights.safetensors "
                           "--inputs tests/fixtures/torch_rnn_batch.safetensors --values --out ";
  const std::string a = (scratch() / "rnn_interp.safetensors").string(), b = (scratch() / "rnn_jit.safetensors").string();
  CommandResult ri = runNetc(base + a + " --interp"), rj = runNetc(base + b);
  INFO(ri.out, rj.out);
  REQUIRE(ri.status == 0);
  REQUIRE(rj.status == 0);
  const WeightMap gi = loadSafetensors(a), gj = loadSafetensors(b);
  for (const std::string name : {"emb", "h@t0", "h@t5", "xh@t0", "logits"}) {
    INFO("value ", name);
    REQUIRE(gi.count(name));
    REQUIRE(gj.count(name));
    const Difference d = difference(gj.at(name), gi.at(name));
    CHECK(d.scale > 0);  // a gradient that is there, not zeros
    CHECK(d.relative() < 1e-4);
  }
  CHECK(gi.size() == gj.size());
}

TEST_CASE("values: backprop_ninja.net draws the notebook's C, W1, b1, W2 and b2 from generator = torch") {
  const std::string out = (scratch() / "init.safetensors").string();
  CommandResult r = runNetc(fmt::format("init {} --out {}", kNinja, out));
  INFO(r.out);
  REQUIRE(r.status == 0);
  const WeightMap mine = loadSafetensors(out), notebook = loadSafetensors(kFixtureHere + "weights.safetensors");
  for (const std::string name : {"C", "W1", "b1", "W2", "b2"}) {
    INFO("parameter ", name);
    CHECK(mine.at(name).data == notebook.at(name).data);
  }
  size_t count = 0;
  for (const auto& [name, t] : mine) count += t.data.size();
  CHECK(count == 4137);
}
