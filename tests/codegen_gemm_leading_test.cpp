// Matrix products over leading dimensions against the interpreter: [.., M, K] @ [K, N] (folded into one
// product of L*M rows), the weight gradient's A^T @ B summed over the leading dimensions (one product whose
// K is L*T), and batches of products [.., M, K] @ [.., K, N], with every transposition, odd sizes, a single
// row or product, epilogues that can and cannot be folded into the product, 4-, 8- and 16-float code, and
// 1 to 3 threads.
#include <doctest/doctest.h>

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/jit_engine.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "runtime/random/rng.h"

using namespace netc;

namespace {

struct Case {
  Shape a, b;
  bool ta = false, tb = false, sumLeading = false;
  // Epilogue: none, tanh(C + bias[N]) (folded into the product), or C * R with R of C's shape less its first
  // dimension (broadcast along part of the merged rows: a loop of its own).
  enum { None, Bias, Partial } epilogue = None;
};

void check(const Case& c) {
  Graph g;
  auto input = [&](const char* name, Shape s) {
    int id = g.add(&getOp("input"), {}, {}, SrcLoc{}, name);
    g[id].dtype = DType::F32;
    g[id].shape = std::move(s);
    return id;
  };
  int a = input("A", c.a);
  int b = input("B", c.b);
  Attrs at;
  at.ints = {c.ta, c.tb};
  at.value = c.sumLeading;
  int out = g.add(&getOp("matmul"), {a, b}, at, SrcLoc{}, c.epilogue == Case::None ? "C" : "");
  inferNode(g, out);
  const Shape cs = g[out].shape;
  std::vector<int> inputs = {a, b};
  if (c.epilogue == Case::Bias) {
    int bias = input("bias", {cs.back()});
    inputs.push_back(bias);
    int add = g.add(&getOp("add"), {out, bias}, {}, SrcLoc{});
    inferNode(g, add);
    out = g.add(&getOp("tanh"), {add}, {}, SrcLoc{}, "Y");
    inferNode(g, out);
  } else if (c.epilogue == Case::Partial) {
    int r = input("R", Shape(cs.begin() + 1, cs.end()));
    inputs.push_back(r);
    out = g.add(&getOp("mul"), {out, r}, {}, SrcLoc{}, "Y");
    inferNode(g, out);
  }
  Interpreter ref(g);
  Rng rng(static_cast<uint64_t>(numel(c.a) * 131 + numel(c.b)));
  std::vector<std::vector<double>> values;
  for (int in : inputs) {
    std::vector<double> v(static_cast<size_t>(numel(g[in].shape)));
    for (double& x : v) x = rng.normal() * 0.3;
    ref.write(in, v);
    values.push_back(std::move(v));
  }
  ref.run();
  std::vector<double> want = ref.read(out);
  const int64_t K = c.ta ? c.a[c.a.size() - 2] : c.a.back();
  for (unsigned bits : {128u, 256u, 512u})
    for (int threads : {1, 2, 3})
      for (bool tiled : {true, false}) {
        if (!tiled && (bits != 256 || threads != 2)) continue;
        codegen::CodegenOptions o;
        o.vectorBits = bits;
        o.plan.threads = threads;
        o.adaptiveTeam = false;
        o.tiledMatmul = tiled;
        JitEngine jit(g, o);
        for (size_t i = 0; i < inputs.size(); ++i) jit.write(inputs[i], values[i]);
        jit.run();
        std::vector<double> got = jit.read(out);
        REQUIRE(got.size() == want.size());
        double worst = 0, scale = 1e-6;
        for (size_t i = 0; i < want.size(); ++i) {
          worst = std::max(worst, std::isfinite(got[i]) ? std::fabs(want[i] - got[i]) : INFINITY);
          scale = std::max(scale, std::fabs(want[i]));
        }
        INFO(fmt::format("{} @ {} ta={} tb={} sumLeading={} epilogue={} vector bits {} threads {} tiled {}: largest "
                         "error {} of scale {}", shapeStr(c.a), shapeStr(c.b), c.ta, c.tb, c.sumLeading,
                         static_cast<int>(c.epilogue), bits, threads, tiled, worst, scale));
        CHECK(worst <= 1e-5 * scale * std::sqrt(static_cast<double>(K)));
      }
}

}  // namespace

TEST_CASE("gemm: products with leading dimensions match the interpreter") {
  const Case cases[] = {
      // Folded into rows: [B, T, C] @ [C, N], B^T too (the input gradient, a transposed weight).
      {{3, 7, 17}, {17, 33}},
      {{1, 1, 3}, {3, 1}},
      {{2, 3, 7, 5}, {5, 9}, false, false, false, Case::Bias},
      {{32, 4, 48}, {48, 128}, false, false, false, Case::Bias},
      {{5, 7, 33}, {17, 33}, false, true},
      {{4, 8, 200}, {27, 200}, false, true, false, Case::Bias},  // long K, B transposed: the dot form
      {{3, 7, 17}, {17, 33}, false, false, false, Case::Partial},
      {{1, 7, 17}, {17, 3}, false, false, false, Case::Partial},
      // Summed over the leading dimensions (a folded product's weight gradient): K = L*T.
      {{3, 7, 17}, {3, 7, 33}, true, false, true},
      {{1, 1, 5}, {1, 1, 3}, true, false, true},
      {{32, 4, 48}, {32, 4, 128}, true, false, true},  // K = 128: split between threads
      {{2, 3, 5, 7}, {2, 3, 5, 9}, true, false, true, Case::Bias},
      // Batches of products, every transposition.
      {{3, 7, 5}, {3, 5, 7}},
      {{1, 1, 1}, {1, 1, 1}},
      {{2, 3, 7, 17}, {2, 3, 17, 7}, false, false, false, Case::Bias},
      {{5, 8, 16}, {5, 8, 16}, false, true, false, Case::Partial},
      {{4, 17, 3}, {4, 17, 33}, true, false},
      {{3, 17, 7}, {3, 33, 17}, true, true, false, Case::Bias},
      {{2, 4, 9, 70}, {2, 4, 33, 70}, false, true},  // long K, B transposed: the dot form
      {{7, 1, 3, 5}, {7, 1, 5, 3}, false, false, false, Case::Partial},
  };
  for (const Case& c : cases) check(c);
}

TEST_CASE("gemm: operands whose leading dimensions do not match are refused") {
  Graph g;
  auto input = [&](Shape s) {
    int id = g.add(&getOp("input"), {}, {}, SrcLoc{}, fmt::format("v{}", g.size()));
    g[id].dtype = DType::F32;
    g[id].shape = std::move(s);
    return id;
  };
  auto error = [&](Shape a, Shape b, bool ta = false, bool tb = false) -> std::string {
    Attrs at;
    at.ints = {ta, tb};
    int m = g.add(&getOp("matmul"), {input(a), input(b)}, at, SrcLoc{});
    try {
      inferNode(g, m);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error({2, 3, 4}, {3, 4, 5}).find("leading dimensions differ") != std::string::npos);
  CHECK(error({2, 3, 4}, {2, 2, 4, 5}).find("leading dimensions differ") != std::string::npos);
  CHECK(error({3, 4}, {2, 4, 5}).find("leading dimensions differ") != std::string::npos);
  CHECK(error({2, 3, 4}, {5, 6}).find("inner dimensions differ") != std::string::npos);
  CHECK(error({4}, {4, 5}).find("must have rank 2 or more") != std::string::npos);
  CHECK(error({2, 4, 3}, {4, 5}, true).find("transposed left operand") != std::string::npos);
  CHECK(error({2, 3, 4}, {2, 4, 5}).empty());
}
