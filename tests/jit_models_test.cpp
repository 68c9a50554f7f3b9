// The JIT against the reference interpreter on every model shipped in models/, at odd and even batch sizes.
#include <filesystem>

#include "jit_compare.h"
#include "test_util.h"

using namespace netc;

static Model loadShipped(const std::string& path) { return testing::loadWithPseudoWords(path); }

TEST_CASE("jit: every model in models/ trains like the interpreter") {
  int seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(NETC_SOURCE_DIR "/models")) {
    if (entry.path().extension() != ".net") continue;
    Model m = loadShipped(entry.path().string());
    // Batch 1 and an odd size everywhere; the lecture's 32 on the lecture model (compiles cost time).
    std::vector<int64_t> batches = {1, 7};
    if (entry.path().filename() == "mlp_kaiming.net") batches.push_back(32);
    for (int64_t B : batches) {
      testing::CompareOptions o;
      o.batch = B;
      // Adam's first step moves a weight by about lr whatever the size of its gradient, so a weight whose
      // gradient is within a few eps (1e-8) of zero moves by a fraction of lr that float32 and double round
      // differently: at lr 0.1, makemore_mlp.net's 65,536-weight W1 at batch 1 differs by 1.2e-3 of its scale.
      const auto kind = m.train.optimizer.kind;
      if (kind == OptimizerSpec::Adam || kind == OptimizerSpec::AdamW) o.lr = 0.01;
      // A BatchNorm model's train form divides by B - 1: batch 1 must be refused, with the reason.
      std::string error = testing::errorOf([&] { testing::compareTraining(m, entry.path().filename().string(), o); });
      if (!error.empty()) {
        INFO(entry.path().filename().string(), " at batch ", B, ": ", error);
        CHECK(B == 1);
        CHECK(error.find("one example is undefined") != std::string::npos);
      }
    }
    ++seen;
  }
  CHECK(seen >= 5);
}

TEST_CASE("jit: unfused, untiled code agrees too (the baseline the optimised code is measured against)") {
  Model m = loadShipped(NETC_SOURCE_DIR "/models/mlp_kaiming.net");
  testing::CompareOptions o;
  o.batch = 5;
  o.codegen.plan.fuse = false;
  o.codegen.tiledMatmul = false;
  testing::compareTraining(m, "mlp_kaiming.net unfused", o);
}

TEST_CASE("jit: 4- and 16-float vectors (SSE-width and AVX-512-width code paths) agree too") {
  // On a host without the width, LLVM splits the vectors into legal ones: slower, but the same results.
  Model m = loadShipped(NETC_SOURCE_DIR "/models/mlp_kaiming.net");
  for (unsigned bits : {128u, 512u}) {
    testing::CompareOptions o;
    o.batch = 19;
    o.steps = 2;
    o.codegen.vectorBits = bits;
    testing::compareTraining(m, fmt::format("mlp_kaiming.net {}-bit vectors", bits), o);
  }
}
