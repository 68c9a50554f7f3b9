// The seam between the front end and the backends: the folders of the netc_core library (the list is read from
// compiler/CMakeLists.txt, so a folder added there is checked too) include nothing of a backend, the runtime or
// the driver. This binary links only netc_core: that it builds at all shows the same at link time.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kCompiler = fs::path(NETC_SOURCE_DIR) / "compiler";

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The folders of `file(GLOB NETC_CORE_SOURCES ... dir/*.cpp ...)` in compiler/CMakeLists.txt.
std::vector<std::string> coreFolders() {
  const std::string cmake = readFile(kCompiler / "CMakeLists.txt");
  const size_t start = cmake.find("file(GLOB NETC_CORE_SOURCES");
  REQUIRE(start != std::string::npos);
  const std::string glob = cmake.substr(start, cmake.find(')', start) - start);
  std::vector<std::string> folders;
  const std::regex dir(R"(([a-z_]+)/\*\.cpp)");
  for (auto it = std::sregex_iterator(glob.begin(), glob.end(), dir); it != std::sregex_iterator(); ++it)
    folders.push_back((*it)[1]);
  return folders;
}

// The `#include "..."` lines of a source file that name a folder outside the core.
std::vector<std::string> forbiddenIncludes(const fs::path& file, const std::set<std::string>& outside) {
  std::vector<std::string> found;
  std::istringstream lines(readFile(file));
  const std::regex include(R"(^\s*#\s*include\s*"([a-z_]+)/)");
  std::smatch m;
  for (std::string line; std::getline(lines, line);)
    if (std::regex_search(line, m, include) && outside.count(m[1])) found.push_back(line);
  return found;
}

}  // namespace

TEST_CASE("core library: its folders include no backend, runtime or driver header") {
  const std::vector<std::string> folders = coreFolders();
  // The front end's folders are there (a glob the regex misread would check nothing).
  for (const char* expected : {"lang", "lower", "graph", "ops", "autodiff", "interp", "scalar_ir"})
    CHECK(std::find(folders.begin(), folders.end(), expected) != folders.end());
  CHECK(std::find(folders.begin(), folders.end(), "codegen") == folders.end());
  const std::set<std::string> outside = {"codegen", "pipeline", "runtime", "driver"};
  int files = 0;
  for (const std::string& folder : folders) {
    REQUIRE(fs::is_directory(kCompiler / folder));
    for (const auto& entry : fs::recursive_directory_iterator(kCompiler / folder)) {
      const std::string ext = entry.path().extension().string();
      if (ext != ".cpp" && ext != ".h") continue;
      ++files;
      for (const std::string& line : forbiddenIncludes(entry.path(), outside))
        FAIL_CHECK(entry.path().lexically_relative(kCompiler).string() << " includes outside the core: " << line);
    }
  }
  CHECK(files > 50);
}
