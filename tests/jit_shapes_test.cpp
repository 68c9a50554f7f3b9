// The JIT against the interpreter on randomly generated models of rank 3 and 4: part 5's FlattenConsecutive
// (a -1 reshape to [B*T/2, 2E] and back), batchnorm over (0, 1) of a [B, T/2, H] value, a rank-4 view permuted
// at random, reductions over random axis tuples (adjacent or not, with or without B) in sum, mean, var and
// std, squeeze and unsqueeze; at batch 1 and odd batches, 1 to 3 threads, 8- and 16-float vectors.
#include <numeric>
#include <fmt/ranges.h>

#include "jit_compare.h"
#include "runtime/data/batch_feed.h"
#include "runtime/training/gradcheck.h"
#include "test_util.h"

using namespace netc;

namespace {

struct Spec {
  int T, E, H;  // T and H even
  std::vector<int> perm;  // of the rank-4 view
  std::vector<int> centreAxes, varAxes;
  int bnConvention;
  int64_t batch;
  int threads;
  unsigned bits;
};

const char* kConventions[] = {"eps=1e-5, momentum=0.1, correction=1", "momentum=0.1", "eps=1e-5, momentum=0.1, axis=(0, 1)"};

std::vector<int> subset(Rng& rng, int rank) {
  std::vector<int> s;
  while (s.empty())
    for (int a = 0; a < rank; ++a)
      if (rng.below(2) == 1) s.push_back(a);
  if (static_cast<int>(s.size()) == rank) s.pop_back();  // keep one axis
  return s;
}

Spec randomSpec(Rng& rng) {
  Spec s;
  s.T = 2 * (2 + static_cast<int>(rng.below(3)));  // 4, 6, 8: at least two positions per example after pairing
  s.E = 1 + static_cast<int>(rng.below(9));
  s.H = 2 * (1 + static_cast<int>(rng.below(12)));
  s.perm = {0, 1, 2, 3};
  for (int i = 3; i > 0; --i) std::swap(s.perm[static_cast<size_t>(i)], s.perm[rng.below(static_cast<uint64_t>(i) + 1)]);
  s.centreAxes = subset(rng, 4);
  s.varAxes = subset(rng, 4);
  s.bnConvention = static_cast<int>(rng.below(3));
  const int64_t batches[] = {1, 2, 3, 5, 7};
  s.batch = batches[rng.below(5)];
  s.threads = 1 + static_cast<int>(rng.below(3));
  s.bits = rng.below(2) == 0 ? 256 : 512;
  return s;
}

std::string tuple(const std::vector<int>& axes) {
  return axes.size() == 1 ? fmt::format("({},)", axes[0]) : fmt::format("({})", fmt::join(axes, ", "));
}

std::string netText(const Spec& s) {
  std::vector<int> inv(4);
  for (int i = 0; i < 4; ++i) inv[static_cast<size_t>(s.perm[static_cast<size_t>(i)])] = i;
  std::string t = fmt::format("data \"unused.txt\" {{\n  context = {}\n}}\nconst E = {}\nconst H = {}\n", s.T, s.E, s.H);
  t += "input x : int[B, T]\ninput y : int[B]\nparam C : [V, E] = randn\n";
  t += "param W1 : [2*E, H] = randn * 0.4\nparam g1 : [H] = ones\nparam be1 : [H] = zeros\n";
  t += "state rm1 : [H] = zeros\nstate rv1 : [H] = ones\n";
  t += "param Wo : [T/2*H, V] = randn * 0.2\nparam bo : [V] = zeros\nparam S : [2, H/2] = randn\n";
  t += "e3 = C[x]\n";
  t += "pairs = reshape(e3, [B, T/2, 2*E])\n";                 // FlattenConsecutive(2)
  t += "h = reshape(pairs, [-1, 2*E]) @ W1\n";                  // [B*T/2, H]
  t += "h3 = reshape(h, [B, -1, H])\n";
  t += fmt::format("a = tanh(batchnorm(h3, g1, be1, rm1, rv1, {}))\n", kConventions[s.bnConvention]);
  t += "a4 = reshape(a, [B, T/2, 2, H/2]) * S\n";
  t += fmt::format("q = permute(a4, [{}])\n", fmt::join(s.perm, ", "));
  t += fmt::format("c = q - mean(q, axis={}, keepdim=1) + sum(q, axis={}, keepdim=1) * 0.1\n", tuple(s.centreAxes),
                   tuple(s.centreAxes));
  t += fmt::format("back = squeeze(unsqueeze(permute(c, [{}]), axis=2), axis=-3)\n", fmt::join(inv, ", "));
  t += "logits = reshape(back, [B, -1]) @ Wo + bo\n";
  t += fmt::format("spread = mean(var(q, axis={}, correction=0)) + mean(std(a, axis=[0, 1], keepdim=1))\n",
                   tuple(s.varAxes));
  t += "loss = cross_entropy(logits, y) + 0.01 * spread\nminimize loss\n";
  return t;
}

}  // namespace

TEST_CASE("jit: random rank-3 and rank-4 models (permutes, -1 reshapes, axis tuples, batchnorm over (0, 1)) train like the interpreter") {
  Rng rng(20261207);
  for (int trial = 0; trial < 10; ++trial) {
    Spec s = randomSpec(rng);
    if (trial == 0) s.batch = 1;  // always one run at batch 1
    std::string text = netText(s);
    Model m = testing::lowerWithPseudoWords(text, fmt::format("shapes{}", trial));
    testing::CompareOptions c;
    c.batch = s.batch;
    c.seed = static_cast<uint64_t>(trial) + 3;
    c.codegen.plan.threads = s.threads;
    c.codegen.adaptiveTeam = false;
    c.codegen.vectorBits = s.bits;
    INFO("model (batch ", s.batch, ", ", s.threads, " threads, ", s.bits, "-bit vectors):\n", text);
    testing::compareTraining(m, fmt::format("random shapes {}", trial), c);
  }
}

// torch.nn.BatchNorm1d on an (N, C, L) input: batchnorm over axes (0, 2) of [B, C, L], the units in the middle
// (a permute to [C, B, L], a transpose to [B*L, C] and back), and a non-adjacent multi-axis mean beside it.
TEST_CASE("batchnorm over (0, 2) of [B, C, L]: gradient check with a random upstream gradient, JIT like the interpreter") {
  const char* text = R"(data "unused.txt" {
  context = 4
}
input x : int[B, T]
input y : int[B]
param C : [V, 3] = randn
param g : [3] = ones
param b : [3] = zeros
state m : [3] = zeros
state v : [3] = ones
param R : [3, 4] = randn
param W : [12, V] = randn * 0.3
ncl = permute(C[x], [0, 2, 1])
bn = batchnorm(ncl, g, b, m, v, axis=(0, 2), correction=1) * R
centred = bn - mean(bn, axis=(0, 2), keepdim=1)
loss = cross_entropy(reshape(tanh(centred), [B, -1]) @ W, y)
minimize loss
)";
  Model m = testing::lowerWithPseudoWords(text, "ncl");
  CHECK(m.graph[m.graph.find("ncl")].shape == Shape{kBatch, 3, 4});
  Model train = specializeModel(m, Mode::Train);
  Graph bound = bindBatch(train.graph, 3);
  WeightMap weights = initParams(train.graph, 5);
  for (double& w : weights.at("g").data) w = 1.3f;  // gains away from 1, shifts away from 0
  for (double& w : weights.at("b").data) w = 0.2f;
  WeightMap batch = randomBatch(bound, 9);
  GradcheckReport r = gradcheck(bound, weights, [&](Engine& e) { feedBatch(e, batch, "random batch"); });
  for (const ParamCheck& p : r.params) {
    INFO("parameter ", p.name, ": max relative error ", p.maxRel);
    CHECK(p.ok);
  }
  for (int64_t B : {2, 5}) {
    testing::CompareOptions c;
    c.batch = B;
    testing::compareTraining(m, "batchnorm over (0, 2)", c);
  }
}
