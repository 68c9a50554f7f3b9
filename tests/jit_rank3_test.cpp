// The JIT against the interpreter on randomly generated models whose products have leading dimensions:
// embeddings [B, T, E] times weights (rows folded, the weight gradient summed over B and T), batches of
// products [B, T, H] @ [B, H, T] and rank-4 ones [B, T, P, Q] @ [B, T, Q, P] (the attention's shapes; their
// gradients are batches with transposed operands), biases and activations as epilogues, at odd sizes,
// batch 1, 8- and 16-float code and 1 to 3 threads. The .net text is built here.

#include "jit_compare.h"
#include "test_util.h"

using namespace netc;

namespace {

struct Spec {
  int T, E, P, Q;  // H = P * Q
  int64_t batch;
  int threads;
  unsigned bits;
};

// Threads and vector widths go round with the trial's number, so every count and width is covered.
Spec randomSpec(Rng& rng, int trial) {
  const int sizes[] = {1, 3, 7, 17, 33};
  Spec s;
  s.T = 1 + static_cast<int>(rng.below(8));
  s.E = sizes[rng.below(5)];
  s.P = sizes[rng.below(4)];
  s.Q = sizes[rng.below(3)];
  const int64_t batches[] = {1, 2, 3, 17, 32};
  s.batch = trial == 0 ? 1 : batches[rng.below(5)];
  s.threads = 1 + trial % 3;
  s.bits = trial % 2 == 0 ? 256u : 512u;
  return s;
}

std::string netText(const Spec& s) {
  std::string t = fmt::format("data \"unused.txt\" {{\n  context = {}\n}}\nconst E = {}\nconst P = {}\nconst Q = {}\n",
                              s.T, s.E, s.P, s.Q);
  t += "input x : int[B, T]\ninput y : int[B]\nparam C : [V, E] = randn\n";
  t += "param W1 : [E, P*Q] = randn * 0.4\nparam b1 : [P*Q] = randn * 0.1\n";
  t += "param W2 : [P*Q, P*Q] = randn * 0.2\n";
  t += "param Wo : [T*P*Q, V] = randn * 0.2\nparam bo : [V] = zeros\n";
  t += "h = tanh(C[x] @ W1 + b1)\n";                       // [B, T, H]: rows folded, bias and tanh epilogue
  t += "u = h @ W2\n";                                      // [B, T, H]
  t += "s = tanh(h @ reshape(u, [B, P*Q, T]) / (P*Q))\n";   // [B, T, T]: a batch of products (scaled: no saturation)
  t += "o = s @ h\n";                                       // [B, T, H]
  t += "e = reshape(o, [B, T, P, Q])\n";
  t += "f = e @ reshape(h, [B, T, Q, P])\n";                // [B, T, P, P]: rank 4
  t += "g = f @ e\n";                                       // [B, T, P, Q]
  t += "logits = reshape(o + 0.1 * reshape(g, [B, T, P*Q]), [B, T*P*Q]) @ Wo + bo\n";
  t += "loss = cross_entropy(logits, y)\nminimize loss\n";
  return t;
}

}  // namespace

TEST_CASE("jit: random models with products over leading dimensions train like the interpreter") {
  Rng rng(20261207);
  for (int trial = 0; trial < 8; ++trial) {
    Spec s = randomSpec(rng, trial);
    std::string text = netText(s);
    Model m = testing::lowerWithPseudoWords(text, fmt::format("rank3_{}", trial));
    testing::CompareOptions c;
    c.batch = s.batch;
    c.seed = static_cast<uint64_t>(trial) + 11;
    c.codegen.plan.threads = s.threads;
    c.codegen.adaptiveTeam = false;
    c.codegen.vectorBits = s.bits;
    INFO("model (", s.threads, " threads, ", s.bits, "-bit vectors):\n", text);
    testing::compareTraining(m, fmt::format("random rank-3 model {}", trial), c);
  }
}
