// Golden tests: tests/golden/<model>.graph holds what
//   netc ir models/<model>.net --stage graph --data tests/data/pseudo_words.txt
// prints when run from the repository root. The test lowers every model the same way and diffs.
// After an intended change of the graph or its printer, regenerate with
//   NETC_UPDATE_GOLDEN=1 ./build/tests/netc_core_tests -tc='golden*'
// and review the diff of tests/golden/ before committing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lower/model.h"

namespace fs = std::filesystem;
using namespace netc;

namespace {

const fs::path kRoot = NETC_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The graph as `netc ir` prints it from the repository root: the model path relative to the root.
std::string graphText(const std::string& model) {
  LowerOptions o;
  o.dataOverride = (kRoot / "tests/data/pseudo_words.txt").string();
  std::string text = printGraph(loadModel((kRoot / "models" / (model + ".net")).string(), o).graph);
  std::string abs = (kRoot / "models").string() + "/";
  for (size_t at; (at = text.find(abs)) != std::string::npos;) text.replace(at, abs.size(), "models/");
  return text;
}

// First differing line, for a readable failure.
std::string firstDifference(const std::string& want, const std::string& got) {
  std::istringstream a(want), b(got);
  std::string la, lb;
  for (int n = 1;; ++n) {
    bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
    if (!ha && !hb) return "";
    if (!ha || !hb || la != lb)
      return "line " + std::to_string(n) + ":\n  golden: " + (ha ? la : "<end>") + "\n  now:    " + (hb ? lb : "<end>");
  }
}

std::vector<std::string> modelNames() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kRoot / "models"))
    if (e.path().extension() == ".net") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("golden: the forward graph of every model matches tests/golden/<model>.graph") {
  const char* update = std::getenv("NETC_UPDATE_GOLDEN");
  bool regenerate = update && std::string(update) == "1";
  auto models = modelNames();
  CHECK(models.size() >= 5);
  for (const std::string& m : models) {
    CAPTURE(m);
    fs::path golden = kRoot / "tests/golden" / (m + ".graph");
    std::string got = graphText(m);
    if (regenerate) {
      std::ofstream(golden, std::ios::binary) << got;
      MESSAGE("rewrote " << golden.string());
      continue;
    }
    REQUIRE_MESSAGE(fs::exists(golden), "missing golden file; run with NETC_UPDATE_GOLDEN=1 to create it");
    std::string want = slurp(golden);
    CHECK_MESSAGE(want == got, firstDifference(want, got));
  }
}

TEST_CASE("golden: every golden file belongs to a model") {
  for (const auto& e : fs::directory_iterator(kRoot / "tests/golden")) {
    CAPTURE(e.path().filename().string());
    CHECK(e.path().extension() == ".graph");
    CHECK(fs::exists(kRoot / "models" / (e.path().stem().string() + ".net")));
  }
}

TEST_CASE("golden: the diff helper points at the first differing line") {
  CHECK(firstDifference("a\nb\n", "a\nb\n").empty());
  CHECK(firstDifference("a\nb\n", "a\nc\n").find("line 2") != std::string::npos);
  CHECK(firstDifference("a\n", "a\nb\n").find("<end>") != std::string::npos);
}
