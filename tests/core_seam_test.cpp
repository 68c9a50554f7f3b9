// The seam between the front end and the backends: the folders of the netc_core library (the list is read from
// compiler/CMakeLists.txt, so a folder added there is checked too) include nothing of a backend, the runtime or
// the driver; nor do the runtime's backend-free sources (netc_runtime_core, read from runtime/CMakeLists.txt),
// which include no runtime file outside that library either. This binary links only those two libraries: that
// it builds at all shows the same at link time.
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
const fs::path kRuntime = fs::path(NETC_SOURCE_DIR) / "runtime";

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


// The sources of netc_runtime_core as runtime/CMakeLists.txt's `file(GLOB NETC_RUNTIME_CORE_SOURCES ...)` names
// them ("random/*.cpp" a folder, "training/init.cpp" a file), each with its header: paths relative to runtime/.
std::set<std::string> runtimeCoreFiles() {
  const std::string cmake = readFile(kRuntime / "CMakeLists.txt");
  const size_t start = cmake.find("file(GLOB NETC_RUNTIME_CORE_SOURCES");
  REQUIRE(start != std::string::npos);
  const std::string glob = cmake.substr(start, cmake.find(')', start) - start);
  std::set<std::string> files;
  const std::regex entry(R"(([a-z_]+)/([a-z_]+|\*)\.cpp)");
  for (auto it = std::sregex_iterator(glob.begin(), glob.end(), entry); it != std::sregex_iterator(); ++it) {
    const std::string folder = (*it)[1], stem = (*it)[2];
    REQUIRE(fs::is_directory(kRuntime / folder));
    for (const auto& f : fs::directory_iterator(kRuntime / folder)) {
      const std::string ext = f.path().extension().string();
      if ((ext == ".cpp" || ext == ".h") && (stem == "*" || f.path().stem() == stem))
        files.insert(folder + "/" + f.path().filename().string());
    }
  }
  return files;
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

TEST_CASE("runtime core library: its sources include no backend or driver header, and no other runtime file") {
  const std::set<std::string> files = runtimeCoreFiles();
  // The backend-free parts are there (a glob the regex misread would check nothing) and the training loop is not.
  for (const char* expected : {"random/rng.h", "data/batch_feed.cpp", "files/weights.cpp", "training/init.cpp",
                               "training/gradcheck.h"})
    CHECK(files.count(expected) == 1);
  CHECK(files.count("training/trainer.cpp") == 0);
  const std::regex include(R"re(^\s*#\s*include\s*"(([a-z_]+)/[^"]*)")re");
  for (const std::string& file : files) {
    std::istringstream lines(readFile(kRuntime / file));
    std::smatch m;
    for (std::string line; std::getline(lines, line);) {
      if (!std::regex_search(line, m, include)) continue;
      const std::string path = m[1], top = m[2];
      const bool backend = top == "codegen" || top == "pipeline" || top == "driver";
      const bool otherRuntime = top == "runtime" && files.count(path.substr(std::string("runtime/").size())) == 0;
      if (backend || otherRuntime) FAIL_CHECK("runtime/" << file << " includes outside netc_runtime_core: " << line);
    }
  }
  CHECK(files.size() > 20);
}
