// The register-tiled matrix products against the interpreter's triple loop, over the shapes that select the
// different code paths: full and partial column vectors, leftover rows, transposed operands (A read by
// broadcast, B packed with 8x8 register transposes plus scalar edges, or B read along its rows in the dot
// form), long sums cut into chunks, and an elementwise epilogue applied to the column panel. Every case runs
// at 4, 8 and 16 floats a vector.
#include <doctest/doctest.h>

#include <cmath>
#include <fmt/format.h>

#include "engine/jit_engine.h"
#include "interp/interpreter.h"
#include "ops/op.h"
#include "runtime/random/rng.h"

using namespace netc;

namespace {

struct Case {
  int64_t M, N, K;
  bool ta, tb, epilogue;
};

// C = op(A) @ op(B), optionally followed by tanh(C + bias) so the product has an epilogue.
void check(const Case& c) {
  Graph g;
  auto input = [&](const char* name, Shape s) {
    int id = g.add(&getOp("input"), {}, {}, SrcLoc{}, name);
    g[id].dtype = DType::F32;
    g[id].shape = std::move(s);
    return id;
  };
  int a = input("A", c.ta ? Shape{c.K, c.M} : Shape{c.M, c.K});
  int b = input("B", c.tb ? Shape{c.N, c.K} : Shape{c.K, c.N});
  int bias = input("bias", {c.N});
  Attrs at;
  at.ints = {c.ta, c.tb};
  int out = g.add(&getOp("matmul"), {a, b}, at, SrcLoc{}, c.epilogue ? "" : "C");
  inferNode(g, out);
  if (c.epilogue) {
    int add = g.add(&getOp("add"), {out, bias}, {}, SrcLoc{});
    inferNode(g, add);
    out = g.add(&getOp("tanh"), {add}, {}, SrcLoc{}, "C");
    inferNode(g, out);
  }
  Interpreter ref(g);
  Rng rng(static_cast<uint64_t>(c.M * 131 + c.N * 17 + c.K));
  std::vector<std::vector<double>> values;
  for (int in : {a, b, bias}) {
    std::vector<double> v(static_cast<size_t>(numel(g[in].shape)));
    for (double& x : v) x = rng.normal() * 0.3;
    ref.write(in, v);
    values.push_back(std::move(v));
  }
  ref.run();
  std::vector<double> want = ref.read(out);
  // The host's vectors, then 4- and 16-float ones: lane counts change tile shapes, masks and the lane sums.
  for (unsigned bits : {0u, 128u, 512u}) {
    codegen::CodegenOptions o;
    o.vectorBits = bits;
    JitEngine jit(g, o);
    int i = 0;
    for (int in : {a, b, bias}) jit.write(in, values[static_cast<size_t>(i++)]);
    jit.run();
    std::vector<double> got = jit.read(out);
    double worst = 0, scale = 1e-6;
    for (size_t i = 0; i < want.size(); ++i) {
      worst = std::max(worst, std::fabs(want[i] - got[i]));
      scale = std::max(scale, std::fabs(want[i]));
    }
    INFO(fmt::format("M={} N={} K={} ta={} tb={} epilogue={} vector bits {}: largest error {} of scale {}", c.M, c.N,
                     c.K, c.ta, c.tb, c.epilogue, bits, worst, scale));
    CHECK(worst <= 1e-5 * scale * std::sqrt(static_cast<double>(c.K)));
  }
}

}  // namespace

TEST_CASE("gemm: tiled products match the interpreter across the code paths") {
  const Case cases[] = {
      {1, 1, 1, false, false, false},     // the smallest
      {5, 3, 7, false, false, true},      // one partial vector, leftover rows, epilogue
      {32, 200, 30, false, false, true},  // the lecture's first layer with bias + tanh
      {7, 27, 200, false, true, false},   // packed B: 8x8 blocks, scalar row edge
      {33, 200, 27, false, true, true},   // packed B: scalar column edge; odd row count
      {200, 27, 256, true, false, false}, // A transposed, K long: summed in chunks
      {30, 200, 256, true, false, true},  // chunks with an epilogue
      {13, 19, 131, true, true, false},   // both transposed, prime K: no chunk divides it
      {64, 9, 400, false, false, false},  // long K, narrow B: chunks
      // B transposed, K >= 64 (128 with 16-float vectors), and K >= M or N a partial vector: dot products along
      // rows of both, no packing
      {32, 30, 200, false, true, false},  // the lecture's embedding gradient at batch 32: 3x4 tiles, 4-lane sums
      {5, 3, 67, false, true, true},      // leftover rows and columns, masked last vector of K, epilogue
      {64, 9, 64, false, true, false},    // K == M == 64: the smallest K taking this path with 8-float vectors
      {32, 100, 128, false, true, false}, // K == 128: the smallest with 16-float ones
      {100, 7, 90, false, true, false},   // K < M, N a partial vector
      {100, 16, 90, false, true, false},  // K < M, N whole vectors: packed and tiled instead
      {9, 128, 33, false, true, true},    // packed B at 512 bytes a row: padded by a cache line
      {70, 1024, 64, false, true, false}, // 4 KB a row (the embedding's input gradient at makemore's sizes)
  };
  for (const Case& c : cases) check(c);
}
