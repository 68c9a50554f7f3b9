// The JIT against the interpreter on the normalisation ops: sqrt, rsqrt, powers and pow (constant and
// tensor exponents), var and std (over the batch, over a row, over everything), keepdim, and B as a value,
// at several batch sizes; and a batch of 1 refused where the unbiased variance over the batch is asked for.
#include <filesystem>
#include <fstream>

#include "jit_compare.h"
#include "test_util.h"

using namespace netc;

namespace {

const char* kNormModel = R"(data "unused.txt" {
  context = 3
}
const E = 6
const H = 21
input x : int[B, T]
input y : int[B]
param C : [V, E] = randn
param W1 : [T*E, H] = randn * 0.3
param gain : [H] = ones
param bias : [H] = zeros
param k : [1] = ones * 2
param W2 : [H, V] = randn * 0.1
hpre = flatten(C[x]) @ W1
mu = mean(hpre, axis=0, keepdim=1)
v = var(hpre, axis=0, keepdim=1)
hn = (hpre - mu) * (v + 1e-5) ** -0.5 * gain + bias
h = tanh(hn)
r = rsqrt(sum(h * h, axis=1, keepdim=1) / H + 1)
s = std(h, axis=1, keepdim=1, correction=0)
pw = (sigmoid(h) + 0.5) ** 1.5 + sqrt(sigmoid(hn)) + 1 / (h * h + 1) ** 2
decay = 0.9 ** k
logits = (h * r + pw * decay + s) @ W2
loss = cross_entropy(logits, y) + var(h) * 0.1 + mean(std(hpre, axis=0) ** 2) / (B * 100) + sum(hpre * hpre) / ((B - 1) * 1000) + mean(pw ** -1) * 0.01
minimize loss
)";

Model loadText(const std::string& name, const std::string& text) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "netc_jit_norm_ops";
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / name;
  std::ofstream(file) << text;
  LowerOptions o;
  o.dataOverride = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";
  return loadModel(file.string(), o);
}

}  // namespace

TEST_CASE("jit: sqrt, rsqrt, pow, var, std, keepdim and B as a value train like the interpreter") {
  Model m = loadText("norm.net", kNormModel);
  for (int64_t B : {2, 7, 32}) {
    testing::CompareOptions o;
    o.batch = B;
    testing::compareTraining(m, "norm ops", o);
  }
  testing::CompareOptions unfused;
  unfused.batch = 5;
  unfused.codegen.plan.fuse = false;
  testing::compareTraining(m, "norm ops, unfused", unfused);
}

TEST_CASE("jit: pow is accurate for Adam's bias correction 1 - beta ** t at large t") {
  // c = 1 - beta ** t with t = 5000 (parameters hold t and the base here; in float, as the JIT sees them).
  Model m = loadText("pow.net", R"(param t : [1] = ones * 5000
param u : [1] = ones * 0.3
c = 1 - 0.999 ** t + u ** 7.25
loss = sum(c)
minimize loss
)");
  TrainingGraph tg = buildTrainingGraph(m.graph);
  Graph bound = bindBatch(tg.graph, 3);
  Interpreter ref(bound);
  JitEngine jit(bound, {});
  WeightMap w = initParams(m.graph, 1);
  loadParams(ref, w, "init");
  loadParams(jit, w, "init");
  std::vector<double> lr = {0.0};
  ref.write(tg.lr, lr);
  jit.write(tg.lr, lr);
  ref.run();
  jit.run();
  double wantRef = 1 - std::pow(0.999, 5000.0) + std::pow(0.3, 7.25);
  CHECK(ref.readScalar(tg.loss) == doctest::Approx(wantRef).epsilon(1e-12));
  // The JIT's constants and parameters are floats: 0.999f and 0.3f.
  double want = 1 - std::pow(static_cast<double>(0.999f), 5000.0) + std::pow(static_cast<double>(0.3f), 7.25);
  CHECK(jit.readScalar(tg.loss) == doctest::Approx(want).epsilon(2e-7));
  // The gradients, against the same float inputs: d/dt = -beta^t ln beta, d/du = 7.25 u^6.25.
  double beta = static_cast<double>(0.999f), u = static_cast<double>(0.3f);
  for (auto [p, dp] : tg.grads) {
    double g = jit.read(dp).at(0);
    double want = bound[p].name == "t" ? -std::pow(beta, 5000.0) * std::log(beta) : 7.25 * std::pow(u, 6.25);
    INFO("gradient ", bound.valueName(dp), ": ", g, " vs ", want);
    CHECK(g == doctest::Approx(want).epsilon(1e-5));
  }
}

TEST_CASE("bind: the unbiased variance over a batch of 1 is refused, naming the line") {
  Model m = loadText("norm1.net", kNormModel);
  TrainingGraph t = buildTrainingGraph(m.graph);
  try {
    bindBatch(t.graph, 1);
    FAIL("a batch of 1 was accepted");
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK_MESSAGE(msg.find("the unbiased variance of one example is undefined") != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("norm1.net:16:") != std::string::npos, msg);
  }
  CHECK_NOTHROW(bindBatch(t.graph, 2));
}
