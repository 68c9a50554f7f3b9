// Test helpers for commands and the files they write: running the built `netc` binary from the repository
// root, and a scratch folder per test process.
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "scratch_dir.h"

namespace netc::testing {

struct CommandResult {
  int status = -1;   // the exit status; -1 when it did not exit normally (a crash)
  std::string out;   // stdout and stderr together
  bool has(const std::string& s) const { return out.find(s) != std::string::npos; }
};

// A file's bytes ("" when it cannot be opened).
inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Replaces a file's contents by `text`.
inline void writeFile(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
}

// One word for a shell command line: single-quoted, so nothing in it is expanded.
inline std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A shell command line run by popen; its stdout captured (the line redirects stderr where it wants it).
inline CommandResult runLine(const std::string& line) {
  CommandResult r;
  FILE* p = popen(line.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// A shell command line run from the repository root with `$NETC` standing for the built binary; stdout and
// stderr together.
inline CommandResult runShell(const std::string& line) {
  return runLine(std::string("cd '" NETC_SOURCE_DIR "' && NETC='" NETC_BINARY "' && { ") + line + "\n} 2>&1");
}

// A shell command line run in `cwd`, with the environment as it is (no `$NETC`); stdout and stderr together.
inline CommandResult runShellIn(const std::filesystem::path& cwd, const std::string& line) {
  return runLine("cd " + shellQuote(cwd.string()) + " && { " + line + "\n} 2>&1");
}

inline CommandResult runNetc(const std::string& args) {
  return runLine(std::string("cd '" NETC_SOURCE_DIR "' && '" NETC_BINARY "' ") + args + " 2>&1");
}

// The words of a command's output with every run of spaces and line breaks made one space: the summary wraps
// its findings at 100 columns, and tests compare the words, not the line breaks.
inline std::string words(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool space = c == ' ' || c == '\n';
    if (space && !out.empty() && out.back() == ' ') continue;
    out += space ? ' ' : c;
  }
  return out;
}

}  // namespace netc::testing
