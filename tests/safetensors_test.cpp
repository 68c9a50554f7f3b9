// safetensors: round trips, the dtypes other tools write, and every way a file can be broken.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <unistd.h>

#include "lower/model.h"
#include "run_netc.h"
#include "runtime/files/safetensors.h"
#include "runtime/training/init.h"
#include "support/diag.h"
#include "test_util.h"

using namespace netc;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

// A private folder per test process, so parallel test runs never share files.
fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_st_");
  return dir.path();
}

void putLE(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A file built byte by byte: a header (as given, unchecked) and raw data.
std::string writeRaw(const std::string& name, const std::string& header, const std::string& data,
                     std::optional<uint64_t> headerLen = {}) {
  std::string bytes;
  putLE(bytes, headerLen.value_or(header.size()), 8);
  bytes += header + data;
  std::string path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string f32bytes(std::initializer_list<float> vs) {
  std::string s;
  for (float f : vs) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    putLE(s, b, 4);
  }
  return s;
}

// The error must be a netc::Error naming the file and saying what is wrong.
void expectError(const std::string& path, const std::string& fragment) {
  try {
    loadSafetensors(path);
    FAIL("expected an error for ", path);
  } catch (const Error& e) {
    std::string msg = e.what();
    CHECK_MESSAGE(msg.find(path) != std::string::npos, msg);
    CHECK_MESSAGE(msg.find(fragment) != std::string::npos, msg);
  }
}

}  // namespace

TEST_CASE("safetensors: F32 and I32 round trip with shapes, including a scalar") {
  WeightMap w;
  w["W1"] = {{2, 3}, {0.5, -1.25, 3.0, 1e-3, -7.5, 100.0}};
  w["b"] = {{3}, {1, 2, 3}};
  w["x"] = {{2, 2}, {0, 26, 13, 5}};
  w["s"] = {{}, {4.5}};
  std::string path = (scratch() / "round.safetensors").string();
  saveSafetensors(path, w, {"x"});
  WeightMap r = loadSafetensors(path);
  REQUIRE(r.size() == 4);
  for (auto& [name, t] : w) {
    CHECK(r[name].shape == t.shape);
    for (size_t i = 0; i < t.data.size(); ++i) CHECK(r[name].data[i] == doctest::Approx(t.data[i]).epsilon(1e-7));
  }
  // The header records the dtypes asked for and is padded so the data starts 8-byte aligned.
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  CHECK(n % 8 == 0);
  auto h = nlohmann::json::parse(bytes.substr(8, n));
  CHECK(h["x"]["dtype"] == "I32");
  CHECK(h["W1"]["dtype"] == "F32");
}

TEST_CASE("safetensors: writing is atomic and leaves no temporary files") {
  fs::path dir = scratch() / "atomic";
  fs::create_directories(dir);
  std::string path = (dir / "w.safetensors").string();
  saveSafetensors(path, {{"a", {{2}, {1, 2}}}});
  saveSafetensors(path, {{"a", {{3}, {4, 5, 6}}}});  // overwrites in place
  CHECK(loadSafetensors(path)["a"].data == std::vector<double>{4, 5, 6});
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
  CHECK_THROWS_AS(saveSafetensors((scratch() / "no/such/dir/w.safetensors").string(), {{"a", {{1}, {1}}}}), Error);
  CHECK_THROWS_AS(saveSafetensors(path, {{"a", {{1}, {1}}}}, {"zz"}), Error);
}

TEST_CASE("safetensors: reads F64 and I64 (what PyTorch float64 / int64 tensors become) and skips __metadata__") {
  std::string data;
  double d = -2.75;
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  putLE(data, bits, 8);
  putLE(data, static_cast<uint64_t>(int64_t{-3}), 8);
  putLE(data, 26, 8);
  std::string header = R"({"__metadata__":{"format":"pt"},"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},)"
                       R"("i":{"dtype":"I64","shape":[2],"data_offsets":[8,24]}})";
  WeightMap r = loadSafetensors(writeRaw("f64.safetensors", header, data));
  CHECK(r.size() == 2);
  CHECK(r["d"].data == std::vector<double>{-2.75});
  CHECK(r["i"].data == std::vector<double>{-3, 26});
}

TEST_CASE("safetensors: malformed files are clear errors naming the file") {
  std::string ok = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  std::string two = f32bytes({1, 2});
  CHECK(loadSafetensors(writeRaw("ok.safetensors", ok, two))["a"].data == std::vector<double>{1, 2});

  expectError((scratch() / "missing.safetensors").string(), "cannot open");
  {
    std::string path = (scratch() / "short.safetensors").string();
    std::ofstream(path, std::ios::binary) << "abc";
    expectError(path, "shorter than the 8-byte header length");
  }
  expectError(writeRaw("hugelen.safetensors", ok, two, ~uint64_t{0} - 1), "larger than the file");
  expectError(writeRaw("longlen.safetensors", ok, two, ok.size() + 9), "larger than the file");
  expectError(writeRaw("json.safetensors", R"({"a":{"dtype":"F32",)", two), "not valid JSON");
  expectError(writeRaw("array.safetensors", "[1,2]", two), "not a JSON object");
  expectError(writeRaw("dtype.safetensors", R"({"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}})", two),
              "unsupported dtype 'BF16'");
  expectError(writeRaw("noshape.safetensors", R"({"a":{"dtype":"F32","data_offsets":[0,8]}})", two), "'shape'");
  expectError(writeRaw("negshape.safetensors", R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", two),
              "non-negative");
  expectError(writeRaw("range.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", two),
              "outside the 8 bytes");
  expectError(writeRaw("backwards.safetensors", R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", two),
              "outside");
  expectError(writeRaw("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", two),
              "needs 3 values of 4 bytes");
  expectError(writeRaw("overflow.safetensors",
                       R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})", two),
              "overflows");
  expectError(writeRaw("overlap.safetensors",
                       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                       two),
              "overlap");
  // Truncated: the header promises two floats, the file stops after one.
  expectError(writeRaw("trunc.safetensors", ok, f32bytes({1})), "outside the 4 bytes");
}

TEST_CASE("netc init writes the initialisers' parameters, the default seed is the train section's") {
  Model m = testing::shippedModel("mlp_kaiming.net");
  for (std::string seed : {"", "5"}) {
    std::string out = (scratch() / ("init" + seed + ".safetensors")).string();
    auto r = runNetc("init models/mlp_kaiming.net --data tests/data/pseudo_words.txt --out " + out +
                              (seed.empty() ? "" : " --seed " + seed));
    INFO(r.out);
    REQUIRE(r.status == 0);
    WeightMap want = initParams(m.graph, seed.empty() ? m.train.seed : std::stoull(seed), m.train.generator);
    WeightMap got = loadSafetensors(out);
    REQUIRE(got.size() == want.size());
    for (auto& [name, t] : want) {
      REQUIRE(got.count(name));
      CHECK(got[name].shape == t.shape);
      for (size_t i = 0; i < t.data.size(); ++i)
        REQUIRE(got[name].data[i] == static_cast<double>(static_cast<float>(t.data[i])));
    }
  }
  auto missing = runNetc("init models/mlp_kaiming.net --data tests/data/pseudo_words.txt");
  CHECK(missing.status == 2);  // --out is required: a usage error
}
