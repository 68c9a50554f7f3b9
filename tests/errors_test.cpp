// Every file in tests/errors/ is a model with one mistake. Its first line says what netc must report:
//   # expect: LINE:COL: message fragment
// The test loads the file (its data section points at ../data/pseudo_words.txt) and checks that the error
// names file:LINE:COL, contains the fragment, and shows the offending line with a caret under column COL.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <fmt/format.h>
#include <sstream>

#include "lower/model.h"

namespace fs = std::filesystem;
using namespace netc;

namespace {

struct Expectation {
  int line = 0, col = 0;
  std::string fragment;
};

bool readExpectation(const fs::path& file, Expectation& e) {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  std::smatch m;
  static const std::regex re(R"(^# expect: (\d+):(\d+): (.+)$)");
  if (!std::regex_match(first, m, re)) return false;
  e.line = std::stoi(m[1]);
  e.col = std::stoi(m[2]);
  e.fragment = m[3];
  return true;
}

std::vector<fs::path> errorFiles() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(NETC_SOURCE_DIR) / "tests" / "errors"))
    if (entry.path().extension() == ".net") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The line after "  LINE | text" must hold a caret under column `col` of the text.
bool caretAt(const std::string& msg, int line, int col) {
  std::istringstream in(msg);
  std::string l, prefix = fmt::format("{:>5} | ", line);
  while (std::getline(in, l))
    if (l.rfind(prefix, 0) == 0) {
      std::string caret;
      if (!std::getline(in, caret)) return false;
      return caret.rfind("      | ", 0) == 0 && caret.size() >= 8 + static_cast<size_t>(col) &&
             caret[8 + col - 1] == '^' && caret.find_first_not_of(' ', 8) == static_cast<size_t>(8 + col - 1);
    }
  return false;
}

}  // namespace

TEST_CASE("errors: every tests/errors/*.net gives its expected message at its line:col with a caret") {
  auto files = errorFiles();
  CHECK(files.size() >= 40);  // a broken glob must not pass silently
  for (const fs::path& file : files) {
    CAPTURE(file.filename().string());
    Expectation want;
    REQUIRE_MESSAGE(readExpectation(file, want), "first line must be `# expect: LINE:COL: fragment`");
    std::string msg;
    try {
      loadModel(file.string());
    } catch (const Error& e) {
      msg = e.what();
    }
    CAPTURE(msg);
    REQUIRE_MESSAGE(!msg.empty(), "no error was reported");
    std::string where = fmt::format("{}:{}:{}: error: ", file.string(), want.line, want.col);
    CHECK(msg.rfind(where, 0) == 0);
    CHECK(msg.find(want.fragment) != std::string::npos);
    CHECK(caretAt(msg, want.line, want.col));
  }
}

TEST_CASE("errors: the checker itself fails on a wrong expectation") {
  // Guards against a test that cannot fail: a message at another column does not match.
  std::string msg = "f.net:3:5: error: x\n    3 | abcdefg\n      |     ^~\n";
  CHECK(caretAt(msg, 3, 5));
  CHECK_FALSE(caretAt(msg, 3, 4));
  CHECK_FALSE(caretAt(msg, 2, 5));
}

TEST_CASE("errors: a dataset missing from --data is named, without a source position") {
  LowerOptions o;
  o.dataOverride = "/nonexistent/words.txt";
  try {
    loadModel(NETC_SOURCE_DIR "/models/mlp_kaiming.net", o);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("'/nonexistent/words.txt' (from --data) not found") != std::string::npos);
  }
}

TEST_CASE("errors: a missing model file is named") {
  try {
    loadModel("/nonexistent/model.net");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("cannot open model file '/nonexistent/model.net'") != std::string::npos);
  }
}
