// Inputs that used to give a silently wrong answer instead of an error: non-finite or stray tensors in weight
// files, safetensors files the header does not fully describe, checks that checked nothing, seeds that were
// wrapped or clamped, and control bytes from user files echoed raw into messages.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "autodiff/autodiff.h"
#include "interp/interpreter.h"
#include "run_netc.h"
#include "runtime/training/init.h"
#include "runtime/files/safetensors.h"
#include "runtime/files/weights.h"
#include "support/diag.h"
#include "test_util.h"

using namespace netc;
using netc::testing::CommandResult;
using netc::testing::errorOf;
using netc::testing::runNetc;
namespace fs = std::filesystem;

namespace {

fs::path scratch() {
  static netc::testing::ScratchDir dir("netc_silent_");
  return dir.path();
}

const std::string kModel = "models/mlp_kaiming.net";
const std::string kData = " --data tests/data/pseudo_words.txt";

void putLE(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A safetensors file from a header (as given) and raw data.
std::string writeRaw(const std::string& name, const std::string& header, const std::string& data) {
  std::string bytes;
  putLE(bytes, header.size(), 8);
  bytes += header + data;
  std::string path = (scratch() / name).string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The main model's initial weights with one change, saved as a file; returns its path.
template <class F>
std::string editedWeights(const std::string& name, F&& edit) {
  Model m = netc::testing::shippedModel("mlp_kaiming.net");
  WeightMap w = initParams(m.graph, 42);
  edit(w);
  std::string path = (scratch() / name).string();
  saveSafetensors(path, w);
  return path;
}

}  // namespace

TEST_CASE("weights: a non-finite value is an error naming the file, the tensor and the element") {
  Model m = netc::testing::shippedModel("mlp_kaiming.net");
  Interpreter e(bindBatch(m.graph, 2));
  WeightMap w = initParams(m.graph, 42);
  w["W1"].data[1 * w["W1"].shape[1] + 7] = NAN;
  w["W2"].data[0] = INFINITY;  // later in declaration order: W1's is named first
  std::string err = errorOf([&] { loadParams(e, w, "in.safetensors"); });
  CAPTURE(err);
  CHECK(err.find("in.safetensors: parameter 'W1' element [1, 7]") != std::string::npos);
  CHECK(err.find(fmt::format("flat index {}", w["W1"].shape[1] + 7)) != std::string::npos);
  CHECK(err.find("is nan") != std::string::npos);
  CHECK(err.find("the input holds a non-finite value") != std::string::npos);
}

TEST_CASE("weights: a tensor named like a non-parameter value of the model is rejected") {
  Model m = netc::testing::shippedModel("mlp_kaiming.net");
  Interpreter e(bindBatch(m.graph, 2));
  for (const char* stray : {"h", "x", "logits"}) {
    WeightMap w = initParams(m.graph, 42);
    w[stray] = NamedTensor{{1}, {0.0}};
    std::string err = errorOf([&] { loadParams(e, w, "in.safetensors"); });
    CAPTURE(err);
    CHECK(err.find(fmt::format("tensor '{}' is not a parameter or state of the model", stray)) != std::string::npos);
  }
}

TEST_CASE("cli: NaN weights are rejected by grad, run --init-from and sample, naming tensor and element") {
  std::string nan = editedWeights("nan.safetensors", [](WeightMap& w) { w["W1"].data[5] = NAN; });
  std::string batch = (scratch() / "batch.safetensors").string();
  saveSafetensors(batch, {{"x", {{2, 3}, {0, 0, 1, 0, 1, 2}}}, {"y", {{2}, {1, 3}}}}, {"x", "y"});
  const std::string out = (scratch() / "out").string();
  for (const std::string& cmd :
       {"grad " + kModel + kData + " --weights " + nan + " --inputs " + batch + " --out " + out + ".safetensors",
        "run " + kModel + kData + " --steps 0 --quiet --no-stats --init-from " + nan + " --out " + out + "-0",
        "run " + kModel + kData + " --steps 3 --quiet --no-stats --init-from " + nan + " --out " + out + "-3",
        "sample " + kModel + kData + " --weights " + nan}) {
    CommandResult r = runNetc(cmd);
    CAPTURE(cmd);
    CAPTURE(r.out);
    CHECK(r.status == 1);
    CHECK(r.has(nan + ": parameter 'W1' element [0, 5] (flat index 5) is nan"));
    CHECK(!r.has("loss nan"));
    CHECK(!r.has("step -1"));
    CHECK(!r.has("parameter 'C'"));
  }
}

TEST_CASE("cli: the JIT's loss with logits sharing a huge offset is the interpreter's, not 0") {
  // W2 all 1e30: every logit of a row is the same float, so the loss is ln 27 = 3.2958 on either engine
  // (the JIT used to say 0.0000). b2 + 1e8: float logits differ by multiples of 8, the loss stays near ln 27.
  std::string same = editedWeights("w2big.safetensors", [](WeightMap& w) {
    for (double& x : w["W2"].data) x = 1e30;
  });
  std::string offset = editedWeights("b2offset.safetensors", [](WeightMap& w) {
    for (double& x : w["b2"].data) x += 1e8;
  });
  for (const std::string engine : {"jit", "interp"}) {
    CommandResult r = runNetc("run " + kModel + kData + " --steps 0 --quiet --no-stats --engine " + engine +
                              " --init-from " + same + " --out " + (scratch() / ("same-" + engine)).string());
    CAPTURE(r.out);
    CHECK(r.status == 0);
    CHECK(r.has("train 3.2958  dev 3.2958"));
  }
  CommandResult r = runNetc("run " + kModel + kData + " --steps 0 --quiet --no-stats --init-from " + offset +
                            " --out " + (scratch() / "offset").string());
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(!r.has("train 0.0000"));
  size_t at = r.out.find("train ");
  REQUIRE(at != std::string::npos);
  double train = std::stod(r.out.substr(at + 6));
  CHECK(train > 2.5);
  CHECK(train < 5);
}

TEST_CASE("safetensors: duplicate keys, trailing bytes and unclaimed gaps are errors") {
  std::string f8(8, '\0');
  auto expect = [](const std::string& path, const std::string& fragment) {
    std::string err = errorOf([&] { loadSafetensors(path); });
    CAPTURE(err);
    CHECK(err.find(path) != std::string::npos);
    CHECK(err.find(fragment) != std::string::npos);
  };
  expect(writeRaw("dup.safetensors",
                  R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                  f8),
         "the header has the key 'a' twice");
  expect(writeRaw("dupfield.safetensors", R"({"a":{"dtype":"F32","shape":[2],"shape":[1],"data_offsets":[0,8]}})", f8),
         "the key 'shape' twice");
  expect(writeRaw("trailing.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", f8),
         "4 bytes follow the last tensor's data");
  expect(writeRaw("gap.safetensors",
                  R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                  std::string(12, '\0')),
         "bytes [4, 8) of the data belong to no tensor");
  // The same tensors, exactly tiling the data, load.
  CHECK(loadSafetensors(writeRaw("tiled.safetensors",
                                 R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                 f8))
            .size() == 2);
}

TEST_CASE("cli: gradcheck refuses checks that check nothing or cannot resolve their step") {
  const std::string g = "gradcheck " + kModel + kData + " --batch 2";
  for (const std::string flags : {" --directions 0 --elements 0", " --directions -1", " --elements -3",
                                   " --eps 1e-300", " --eps 0", " --eps -1e-4", " --rtol 0"}) {
    CommandResult r = runNetc(g + flags);
    CAPTURE(flags);
    CAPTURE(r.out);
    CHECK(r.status == 2);
    CHECK(!r.has("ok"));
  }
  CommandResult tiny = runNetc(g + " --eps 1e-300");
  CHECK(tiny.has("--eps 1e-300 is below what float64 resolves"));
  CommandResult none = runNetc(g + " --directions 0 --elements 0");
  CHECK(none.has("nothing would be checked"));
  CommandResult one = runNetc(g + " --directions 0 --elements 1");
  CAPTURE(one.out);
  CHECK(one.status == 0);
  CHECK(one.has("ok: all gradients"));
}

TEST_CASE("cli: --seed is parsed exactly on every command that takes it") {
  const std::string w = (scratch() / "seed.safetensors").string();
  const std::vector<std::string> commands = {"init " + kModel + kData + " --out " + w,
                                             "gradcheck " + kModel + kData + " --batch 1 --directions 1 --elements 0",
                                             "run " + kModel + kData + " --steps 1 --quiet --no-stats --out " +
                                                 (scratch() / "seedrun").string(),
                                             "sample " + kModel + kData + " --weights " + w + " --count 1"};
  for (const std::string& cmd : commands)
    for (const char* bad : {"-1", "18446744073709551616", "99999999999999999999", "1.5", "0x10", "seven"}) {
      CommandResult r = runNetc(cmd + " --seed " + bad);
      CAPTURE(cmd);
      CAPTURE(r.out);
      CHECK(r.status == 2);
      CHECK(r.has("--seed"));
    }
  // The largest seed is valid: `netc init` writes it back as given.
  CommandResult r = runNetc(commands[0] + " --seed 18446744073709551615");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.has("seed 18446744073709551615"));
  CHECK(runNetc(commands[3] + " --seed 0").status == 0);
}

TEST_CASE("diag: printable escapes control bytes, escape sequences, NUL and invalid UTF-8, once") {
  CHECK(printable("plain text, 100%") == "plain text, 100%");
  CHECK(printable(std::string("a\x1b[31mb\0c", 9)) == "a\\x1b[31mb\\x00c");
  CHECK(printable("tab\there\r\n") == "tab\\there\\r\\n");
  CHECK(printable("two\nlines", true) == "two\nlines");
  CHECK(printable("back\\slash") == "back\\\\slash");
  CHECK(printable("caf\xc3\xa9 \xe2\x86\x92") == "caf\xc3\xa9 \xe2\x86\x92");  // valid UTF-8 stays
  CHECK(printable("\xc2\x9b" "2J") == "\\xc2\\x9b2J");                        // C1 CSI is a control
  CHECK(printable("\xff\xc3") == "\\xff\\xc3");                               // invalid, truncated
}

TEST_CASE("diag: the quoted model line is escaped and the caret still points at the offending text") {
  SourceFile src("m.net", "a = \x1b[2J bad\n");
  std::string d = formatDiag(&src, SrcLoc{1, 10, 3}, "unexpected 'bad'");
  CAPTURE(d);
  CHECK(d.find('\x1b') == std::string::npos);
  CHECK(d.find("    1 | a = \\x1b[2J bad\n") != std::string::npos);
  CHECK(d.find("      | " + std::string(12, ' ') + "^~~\n") != std::string::npos);  // under "bad", past the \x1b
}

TEST_CASE("cli: control bytes and NUL in a data file are escaped in the message, which is not cut off") {
  const fs::path data = scratch() / "evil\x1b[31m.txt";
  std::ofstream(data, std::ios::binary) << "anna\nbob\x1b]0;pwned\x07\n" << std::string("ca\0rl\n", 6);
  CommandResult r = runNetc("check " + kModel + " --data '" + data.string() + "'");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.out.find('\x1b') == std::string::npos);
  CHECK(r.out.find('\x07') == std::string::npos);
  CHECK(r.has("evil\\x1b[31m.txt:2:4: the word 'bob\\x1b]0;pwned\\x07' contains the control character 0x1b"));
  std::ofstream(data, std::ios::binary) << "anna\n" << std::string("ca\0rl\n", 6);
  CommandResult nul = runNetc("check " + kModel + " --data '" + data.string() + "'");
  CAPTURE(nul.out);
  CHECK(nul.has("the word 'ca\\x00rl' contains the control character 0x00"));
}
