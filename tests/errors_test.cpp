// Every file in tests/errors/ is a model with one mistake. Its first line says what netc must report:
//   # expect: LINE:COL: message fragment
// The test loads the file (its data section points at ../data/pseudo_words.txt) and checks that the error
// names file:LINE:COL, contains the fragment, and shows the offending line with a caret under column COL.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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
  const std::string tag = "# expect: ";
  if (first.rfind(tag, 0) != 0) return false;
  std::istringstream rest(first.substr(tag.size()));
  char c1 = 0, c2 = 0, space = 0;
  if (!(rest >> e.line >> c1 >> e.col >> c2) || c1 != ':' || c2 != ':' || !rest.get(space) || space != ' ')
    return false;
  std::getline(rest, e.fragment);
  return e.line > 0 && e.col > 0 && !e.fragment.empty();
}

std::vector<fs::path> errorFiles() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(fs::path(NETC_SOURCE_DIR) / "tests" / "errors"))
    if (entry.path().extension() == ".net") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

// The message must show line `line` of the file (or, for a long line, a window of it marked with "...")
// and, on the next line, a caret under column `col` of it.
bool caretAt(const std::string& msg, int line, int col, const std::string& fileLine) {
  std::istringstream in(msg);
  std::string l, prefix = fmt::format("{:>5} | ", line);
  while (std::getline(in, l))
    if (l.rfind(prefix, 0) == 0) {
      std::string shown = l.substr(prefix.size()), caret;
      if (!std::getline(in, caret) || caret.rfind("      | ", 0) != 0) return false;
      size_t at = caret.find_first_not_of(' ', 8);
      if (at == std::string::npos || caret[at] != '^') return false;
      at -= 8;
      if (shown == fileLine) return at == static_cast<size_t>(col - 1);
      // a window: the caret must stand under the same character as column `col` of the file's line
      if (shown.find("...") == std::string::npos) return false;
      char want = static_cast<size_t>(col - 1) < fileLine.size() ? fileLine[col - 1] : '\0';
      char got = at < shown.size() ? shown[at] : '\0';
      return want == got;
    }
  return false;
}

std::string lineOf(const fs::path& file, int line) {
  std::ifstream in(file);
  std::string l;
  for (int i = 0; i < line && std::getline(in, l); ++i) {
  }
  return l;
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
    CHECK(caretAt(msg, want.line, want.col, lineOf(file, want.line)));
  }
}

TEST_CASE("errors: the checker itself fails on a wrong expectation") {
  // Guards against a test that cannot fail: a message at another column does not match.
  std::string msg = "f.net:3:5: error: x\n    3 | abcdefg\n      |     ^~\n";
  CHECK(caretAt(msg, 3, 5, "abcdefg"));
  CHECK_FALSE(caretAt(msg, 3, 4, "abcdefg"));
  CHECK_FALSE(caretAt(msg, 2, 5, "abcdefg"));
  CHECK_FALSE(caretAt(msg, 3, 5, "abcdefgh"));  // the line is not the file's
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

TEST_CASE("errors: a very long line is shown as a window around the column") {
  std::string line = "const K = " + std::string(500, '1') + "x" + std::string(500, '2');
  SourceFile src("long.net", line + "\n");
  std::string msg = formatDiag(&src, SrcLoc{1, 511, 1}, "here");
  CAPTURE(msg);
  CHECK(msg.rfind("long.net:1:511: error: here\n", 0) == 0);
  CHECK(msg.size() < 400);
  CHECK(caretAt(msg, 1, 511, line));
  std::string atEnd = formatDiag(&src, SrcLoc{1, static_cast<int>(line.size()) + 1, 1}, "end");
  CHECK(atEnd.find("...") != std::string::npos);
  CHECK(atEnd.find("^") != std::string::npos);
}
