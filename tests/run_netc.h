// Runs the built `netc` binary from the repository root and captures what it prints, for tests of commands.
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace netc::testing {

struct CommandResult {
  int status = -1;   // the exit status; -1 when it did not exit normally (a crash)
  std::string out;   // stdout and stderr together
  bool has(const std::string& s) const { return out.find(s) != std::string::npos; }
};

inline CommandResult runNetc(const std::string& args) {
  std::string cmd = std::string("cd '" NETC_SOURCE_DIR "' && '" NETC_BINARY "' ") + args + " 2>&1";
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace netc::testing
