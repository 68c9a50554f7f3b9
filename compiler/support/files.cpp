#include "support/files.h"

#include <cerrno>
#include <climits>
#include <filesystem>
#include <fmt/format.h>
#include <system_error>

#include "support/diag.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

// The system's reason for a failed lookup, with the cases users meet spelt out.
std::string lookupProblem(const std::error_code& ec) {
  switch (ec.value()) {
    case ENOENT: return "no such file";
    case ENOTDIR: return "a part of the path is not a directory";
    case ELOOP: return "too many levels of symbolic links (a symlink loop?)";
    case ENAMETOOLONG: return fmt::format("the name is too long for this system (at most {} bytes per path component)", NAME_MAX);
    case EACCES: return "permission denied";
    default: return ec.message();
  }
}

}  // namespace

std::string inputFileProblem(const std::string& path) {
  if (path.empty()) return "the name is empty";
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symlinks: a loop reports ELOOP here
  if (ec) return lookupProblem(ec);
  if (st.type() == fs::file_type::not_found) return "no such file";
  if (st.type() == fs::file_type::directory) return "it is a directory, not a file";
  return "";
}

void requireInputFile(const std::string& path, std::string_view what) {
  if (std::string why = inputFileProblem(path); !why.empty())
    fail(fmt::format("cannot read {} '{}': {}", what, path, why));
}

}  // namespace netc
