// `netc bench` and the code stages of `netc ir` through the real binary: they run, report what they promise
// (no timing thresholds here: timings belong to the benchmark, not to tests) and refuse bad options clearly.
#include <doctest/doctest.h>

#include <string>

#include "run_netc.h"

using netc::testing::runNetc;

namespace {

const std::string kData = " --data tests/data/pseudo_words.txt";

}  // namespace

TEST_CASE("netc bench: compile time, step time and throughput of a short run, also at batch 1") {
  for (const char* batch : {"", " --batch 1"}) {
    auto r = runNetc("bench models/mlp_kaiming.net --steps 20 --warmup 2 --kernels" + kData + batch);
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(r.out.find("compile (.net -> first step):") != std::string::npos);
    CHECK(r.out.find("median") != std::string::npos);
    CHECK(r.out.find("GFLOP/s") != std::string::npos);
    CHECK(r.out.find("k1.matmul") != std::string::npos);  // the per-kernel table
    CHECK(r.out.find("FMA peak, measured in this run") != std::string::npos);
  }
  auto probes = runNetc("bench models/mlp_original.net --steps 20 --warmup 2 --probes" + kData);
  INFO(probes.out);
  CHECK(probes.status == 0);
  // The lecture MLP's one @probe'd tanh plus the logits, and its five parameters.
  CHECK(probes.out.find("probe step (statistics of 2 probes and 5 parameters") != std::string::npos);
  CHECK(probes.out.find("at probe_every = 1000 that adds") != std::string::npos);
  auto bad = runNetc("bench models/mlp_kaiming.net --batch 0" + kData);
  CHECK(bad.status != 0);
  CHECK(bad.out.find("--batch") != std::string::npos);
}

TEST_CASE("netc ir: the code stages of the lecture MLP") {
  auto fused = runNetc("ir models/mlp_kaiming.net --stage fused" + kData);
  CHECK(fused.status == 0);
  CHECK(fused.out.find("epilogue %h:f32[32,200]") != std::string::npos);
  auto opt = runNetc("ir models/mlp_kaiming.net --stage llvm-opt --batch 8" + kData);
  CHECK(opt.status == 0);
  CHECK(opt.out.find("define void @netc_step") != std::string::npos);
  CHECK(opt.out.find("x float>") != std::string::npos);  // vector code
  auto as = runNetc("ir models/mlp_kaiming.net --stage asm --batch 8" + kData);
  CHECK(as.status == 0);
  CHECK(as.out.find("netc_step") != std::string::npos);
}
