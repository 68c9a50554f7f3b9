#include "support/files.h"

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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

// What a file that is not a regular file is, in words.
const char* fileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

// Closes the descriptor however the read ends.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

std::string readRegularFile(const std::string& path, std::string_view what, uint64_t maxBytes) {
  auto refuse = [&](const std::string& why) {
    fail(what.empty() ? fmt::format("cannot read '{}': {}", path, why) : fmt::format("cannot read {} '{}': {}", what, path, why));
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) refuse(lookupProblem(std::error_code(errno, std::generic_category())));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) refuse(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) refuse(fmt::format("it is {}, not a regular file", fileKind(st.st_mode)));
  if (static_cast<uint64_t>(st.st_size) > maxBytes)
    refuse(fmt::format("it is {} bytes; netc reads at most {} bytes here", st.st_size, maxBytes));
  std::string text;
  text.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) refuse(std::strerror(errno));
    if (n == 0) break;
    // A file still growing is read up to the bound, never beyond it.
    if (text.size() + static_cast<size_t>(n) > maxBytes) refuse(fmt::format("it grew beyond {} bytes while being read", maxBytes));
    text.append(buf, static_cast<size_t>(n));
  }
  return text;
}

std::vector<std::string> completeLines(std::string_view text) {
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string_view::npos; start = end + 1)
    lines.emplace_back(text.substr(start, end - start));
  return lines;
}

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
