// A scratch folder per test process, for the tests that write files (run_netc.h's commands and the core's tests
// alike: this header needs no driver).
#pragma once
#include <filesystem>
#include <string>
#include <system_error>
#include <unistd.h>

namespace netc::testing {

// A private folder for this test process (parallel runs never share files), removed when the process ends.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() / (prefix + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace netc::testing
