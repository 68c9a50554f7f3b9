// The shape of the source tree, checked so it stays the way README.md's architecture section describes it:
// small files, runtime folders that include only the folders listed before them in runtime/CMakeLists.txt, and
// no op-name string compares outside compiler/ops/. (The front end's seam: core_seam_test.cpp.)
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct SourceFile {
  std::string path;  // relative to the source tree, e.g. "compiler/ops/tanh.cpp"
  std::vector<std::string> lines;
};

std::vector<SourceFile> sources(const std::string& top) {
  std::vector<SourceFile> out;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(NETC_SOURCE_DIR) / top)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    if (ext != ".cpp" && ext != ".h") continue;
    SourceFile f{fs::relative(e.path(), NETC_SOURCE_DIR).generic_string(), {}};
    std::ifstream in(e.path());
    for (std::string l; std::getline(in, l);) f.lines.push_back(l);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

// The quoted includes of a file: "codegen/gemm.h", "runtime/data/dataset.h", ...
std::vector<std::string> includes(const SourceFile& f) {
  static const std::regex inc(R"re(^\s*#\s*include\s+"([^"]+)")re");
  std::vector<std::string> out;
  std::smatch m;
  for (const auto& l : f.lines)
    if (std::regex_search(l, m, inc)) out.push_back(m[1]);
  return out;
}

// "compiler/ops/tanh.cpp" -> "ops"; "runtime/data/dataset.h" -> "data".
std::string folderOf(const std::string& path) {
  auto a = path.find('/'), b = path.find('/', a + 1);
  return b == std::string::npos ? "" : path.substr(a + 1, b - a - 1);
}

}  // namespace

TEST_CASE("structure: no source file in compiler/ or runtime/ is over 700 lines") {
  for (const char* top : {"compiler", "runtime"})
    for (const auto& f : sources(top)) {
      INFO(f.path);
      CHECK(f.lines.size() <= 700);
    }
}

TEST_CASE("structure: each runtime folder includes only the folders below it") {
  // The folders in the order runtime/CMakeLists.txt lists them ("#   random/    the random streams ..."): a
  // folder may include those listed before it, never one after it.
  std::vector<std::string> order;
  {
    std::ifstream in(fs::path(NETC_SOURCE_DIR) / "runtime" / "CMakeLists.txt");
    static const std::regex entry(R"(^#\s+([a-z_]+)/\s)");
    std::smatch m;
    for (std::string l; std::getline(in, l);)
      if (std::regex_search(l, m, entry)) order.push_back(m[1]);
  }
  REQUIRE(order.size() >= 5);
  auto rank = [&](const std::string& folder) {
    auto it = std::find(order.begin(), order.end(), folder);
    return it == order.end() ? -1 : static_cast<int>(it - order.begin());
  };
  for (const auto& f : sources("runtime")) {
    int own = rank(folderOf(f.path));
    INFO(f.path);
    REQUIRE(own >= 0);  // every runtime file lives in one of the folders
    for (const auto& inc : includes(f)) {
      if (inc.rfind("runtime/", 0) != 0) continue;
      INFO("includes " << inc);
      CHECK(rank(folderOf(inc)) <= own);
    }
  }
}

TEST_CASE("structure: outside compiler/ops/, nothing decides by comparing an op's name with a string") {
  // An op's behaviour is asked of the op (its traits in ops/op.h). A compare that must stay carries a
  // comment with "op-name compare:" saying why.
  static const std::regex compare(R"(op->name\)?\s*==|==\s*std::string_view\(\w+\.op->name\)|isOp\(\s*\w+\s*,\s*")");
  for (const char* top : {"compiler", "runtime"})
    for (const auto& f : sources(top)) {
      if (folderOf(f.path) == "ops") continue;
      for (size_t i = 0; i < f.lines.size(); ++i) {
        const auto& l = f.lines[i];
        if (!std::regex_search(l, compare) || l.find("op-name compare:") != std::string::npos) continue;
        FAIL_CHECK(f.path << ":" << i + 1 << ": " << l);
      }
    }
}
