#include "support/files.h"

#include <algorithm>
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


// An input that is not a file or a pipe, in words.
std::string deviceProblem(const std::string& kind) {
  return fmt::format("it is {}, not a file: netc reads files and pipes", kind);
}

// Closes the descriptor however the read ends.
struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

}  // namespace

const char* fileKind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a plain file";
}

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
  switch (st.type()) {
    case fs::file_type::not_found: return "no such file";
    case fs::file_type::directory: return "it is a directory, not a file";
    case fs::file_type::regular:
    case fs::file_type::fifo: return "";  // files and pipes (/dev/stdin, <(...)) are what netc reads
    // A device reads without end (/dev/zero, /dev/urandom) or waits on a terminal: never an input.
    case fs::file_type::character: return deviceProblem("a character device (such as /dev/zero or a terminal)");
    case fs::file_type::block: return deviceProblem("a block device");
    case fs::file_type::socket: return deviceProblem("a socket");
    default: return "it is neither a file nor a pipe: netc reads files and pipes";
  }
}

std::string byteCount(uint64_t bytes) {
  if (bytes >= (1ull << 30) && bytes % (1ull << 30) == 0) return fmt::format("{} GiB", bytes >> 30);
  if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} bytes", bytes);
}

InputFile::InputFile(const std::string& path, std::string_view what) : path_(path), what_(what) {
  requireInputFile(path, what);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail(fmt::format("cannot read {} '{}': {}", what, path, lookupProblem(std::error_code(errno, std::generic_category()))));
  fd_ = fd;
  // Again on what was opened: the name may have been pointed elsewhere since it was checked.
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode))
    fail(fmt::format("cannot read {} '{}': {}", what, path, deviceProblem(fileKind(st.st_mode))));
  if (S_ISREG(st.st_mode)) size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<std::string> InputFile::readPieces(uint64_t n, uint64_t& total) {
  // In pieces joined once at the end: a string grown by appending would, near a 1 GiB bound, hold the old and
  // the doubled buffer at once (3 GiB) for a pipe that is about to be refused anyway.
  constexpr size_t kPiece = 16 << 20;
  std::vector<std::string> pieces;
  total = 0;
  char buf[1 << 16];
  while (total < n) {
    const ssize_t got = ::read(fd_, buf, static_cast<size_t>(std::min<uint64_t>(sizeof buf, n - total)));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(fmt::format("cannot read {} '{}': {}", what_, path_, std::strerror(errno)));
    if (got == 0) break;
    if (pieces.empty() || pieces.back().size() >= kPiece) pieces.emplace_back();
    pieces.back().append(buf, static_cast<size_t>(got));
    total += static_cast<uint64_t>(got);
  }
  return pieces;
}

namespace {

std::string joined(std::vector<std::string> pieces, uint64_t total) {
  if (pieces.empty()) return "";
  if (pieces.size() == 1) return std::move(pieces.front());
  std::string out;
  out.reserve(static_cast<size_t>(total));
  for (const std::string& piece : pieces) out += piece;
  return out;
}

}  // namespace

std::string InputFile::read(uint64_t n) {
  uint64_t total = 0;
  std::vector<std::string> pieces = readPieces(n, total);
  return joined(std::move(pieces), total);
}

std::optional<std::string> InputFile::readAtMost(uint64_t max) {
  uint64_t total = 0;
  // One byte past the bound tells a pipe that stops in time from one that does not.
  std::vector<std::string> pieces = readPieces(max + 1, total);
  if (total > max) return std::nullopt;
  return joined(std::move(pieces), total);
}

std::string readInputFile(const std::string& path, std::string_view what, uint64_t maxBytes) {
  InputFile in(path, what);
  auto tooLarge = [&](const std::string& size) {
    fail(fmt::format("cannot read {} '{}': it holds {}; netc reads at most {} for a {}", what, path, size,
                     byteCount(maxBytes), what));
  };
  if (in.size() && *in.size() > maxBytes) tooLarge(fmt::format("{} bytes", *in.size()));
  std::optional<std::string> text = in.readAtMost(maxBytes);
  if (!text) tooLarge(fmt::format("more than {}", byteCount(maxBytes)));
  return std::move(*text);
}

void requireInputFile(const std::string& path, std::string_view what) {
  if (std::string why = inputFileProblem(path); !why.empty())
    fail(fmt::format("cannot read {} '{}': {}", what, path, why));
}

}  // namespace netc
