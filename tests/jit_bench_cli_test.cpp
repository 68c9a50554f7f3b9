// `netc bench` and the code stages of `netc ir` through the real binary: they run, report what they promise
// (no timing thresholds here: timings belong to the benchmark, not to tests) and refuse bad options clearly.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

namespace {

struct Run {
  int status;
  std::string out;
};

Run netc(const std::string& args) {
  std::string cmd = std::string("cd '" NETC_SOURCE_DIR "' && '" NETC_BINARY "' ") + args + " 2>&1";
  Run r{-1, ""};
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  r.status = pclose(p);
  return r;
}

const std::string kData = " --data tests/data/pseudo_words.txt";

}  // namespace

TEST_CASE("netc bench: compile time, step time and throughput of a short run, also at batch 1") {
  for (const char* batch : {"", " --batch 1"}) {
    Run r = netc("bench models/mlp_kaiming.net --steps 20 --warmup 2 --kernels" + kData + batch);
    INFO(r.out);
    CHECK(r.status == 0);
    CHECK(r.out.find("compile (.net -> first step):") != std::string::npos);
    CHECK(r.out.find("median") != std::string::npos);
    CHECK(r.out.find("GFLOP/s") != std::string::npos);
    CHECK(r.out.find("k1.matmul") != std::string::npos);  // the per-kernel table
  }
  Run bad = netc("bench models/mlp_kaiming.net --batch 0" + kData);
  CHECK(bad.status != 0);
  CHECK(bad.out.find("--batch") != std::string::npos);
}

TEST_CASE("netc ir: the code stages of the lecture MLP") {
  Run fused = netc("ir models/mlp_kaiming.net --stage fused" + kData);
  CHECK(fused.status == 0);
  CHECK(fused.out.find("epilogue %h:f32[32,200]") != std::string::npos);
  Run opt = netc("ir models/mlp_kaiming.net --stage llvm-opt --batch 8" + kData);
  CHECK(opt.status == 0);
  CHECK(opt.out.find("define void @netc_step") != std::string::npos);
  CHECK(opt.out.find("x float>") != std::string::npos);  // vector code
  Run as = netc("ir models/mlp_kaiming.net --stage asm --batch 8" + kData);
  CHECK(as.status == 0);
  CHECK(as.out.find("netc_step") != std::string::npos);
}
