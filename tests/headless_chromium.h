// Pages rendered by headless Chromium, as a browser shows them: the DOM once the page's script has run. Tests
// that need it skip (with a doctest MESSAGE) when chromium is not installed.
#pragma once
#include <array>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <string>
#include <sys/wait.h>
#include <utility>

namespace netc::testing {

// The exit status and standard output of a shell command.
inline std::pair<int, std::string> shellOutput(const std::string& cmd) {
  std::string out;
  std::FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return {-1, ""};
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
  int status = ::pclose(f);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// `text` as one word for the shell, whatever it holds.
inline std::string shellQuoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline bool haveChromium() { return shellOutput("command -v chromium >/dev/null 2>&1").first == 0; }

// The DOM that headless Chromium ends with once the page's script has run, or "" when chromium failed;
// `profile` is a scratch folder for its user data (removed afterwards); `fragment` is appended to the URL.
inline std::string renderedDom(const std::filesystem::path& page, const std::filesystem::path& profile,
                               const std::string& fragment = "") {
  std::string cmd = fmt::format(
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir={} --dump-dom "
      "{} 2>/dev/null",
      shellQuoted(profile.string()), shellQuoted("file://" + std::filesystem::absolute(page).string() + fragment));
  auto [status, dom] = shellOutput(cmd);
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
  return status == 0 ? dom : "";
}

}  // namespace netc::testing
