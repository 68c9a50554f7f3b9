#include "runtime/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/diag.h"
#include "support/files.h"

namespace netc {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void cannotWrite(const std::string& path, int err) {
  fail(fmt::format("cannot write '{}': {}", path, std::strerror(err)));
}

// write(2) until everything is out: it may write less than asked (signals, a nearly full disk). Returns 0 or
// the errno of the failure.
int writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return ENOSPC;  // no progress: treat as full rather than loop forever
    data += n, size -= static_cast<size_t>(n);
  }
  return 0;
}

std::string folderOf(const std::string& path) {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

bool isTemporaryName(const std::string& name) {
  // ".NAME.tmpXXXXXX": mkstemp's six characters after ".tmp".
  size_t at = name.rfind(".tmp");
  if (name.size() > 1 && name[0] == '.' && at != std::string::npos && at > 1 && name.size() == at + 4 + 6) return true;
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
}

// The same file, existing (hard links, symlinks) or not yet (two spellings of one path).
bool sameFile(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  if (fs::equivalent(a, b, ec1) && !ec1) return true;
  fs::path ca = fs::weakly_canonical(fs::absolute(a, ec1), ec1), cb = fs::weakly_canonical(fs::absolute(b, ec2), ec2);
  return !ec1 && !ec2 && ca == cb;
}

}  // namespace

void syncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) cannotWrite(dir, errno);
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  // Some file systems cannot fsync a folder (EINVAL); their renames are as durable as they get.
  if (err != 0 && err != EINVAL) cannotWrite(dir, err);
}

void writeFileAtomically(const std::string& path, std::string_view contents) {
  const std::string dir = folderOf(path);
  std::string tmp = (fs::path(dir) / ("." + fs::path(path).filename().string() + ".tmpXXXXXX")).string();
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) cannotWrite(path, errno);
  // Held until close: tells removeStaleTemporaries() that this temporary has a live writer.
  ::flock(fd, LOCK_EX);
  int err = writeAll(fd, contents.data(), contents.size());
  // mkstemp creates 0600; results are ordinary files, readable like the rest of the user's output.
  if (err == 0 && ::fchmod(fd, 0644) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    cannotWrite(path, err);
  }
  syncDirectory(dir);
}

AppendFile::AppendFile(std::string path) : path_(std::move(path)) {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) cannotWrite(path_, errno);
  buf_.reserve(2 * kFlushAt);
}

AppendFile::~AppendFile() { closeQuietly(); }

void AppendFile::closeQuietly() noexcept {
  if (fd_ < 0) return;
  // Best effort, no error: this also runs while another error is being reported.
  if (!buf_.empty()) writeAll(fd_, buf_.data(), buf_.size());
  buf_.clear();
  ::close(std::exchange(fd_, -1));
}

AppendFile& AppendFile::operator=(AppendFile&& o) noexcept {
  if (this != &o) {
    closeQuietly();
    path_ = std::move(o.path_), buf_ = std::move(o.buf_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

void AppendFile::flush() {
  if (fd_ < 0 || buf_.empty()) return;
  int err = writeAll(fd_, buf_.data(), buf_.size());
  buf_.clear();  // keeps its capacity
  if (err != 0) cannotWrite(path_, err);
}

void AppendFile::sync() {
  flush();
  if (fd_ >= 0 && ::fsync(fd_) != 0) cannotWrite(path_, errno);
}

void AppendFile::close() {
  if (fd_ < 0) return;
  sync();
  int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) cannotWrite(path_, errno);
}

std::vector<std::string> readCompleteLines(const std::string& path) {
  return completeLines(readRegularFile(path, "", kMaxAppendedFileBytes));
}

std::vector<std::string> removeStaleTemporaries(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!isTemporaryName(name) || !entry.is_regular_file(ec)) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    // A writer holds its temporary locked until it renames it: a lock we can take means nobody is writing.
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::unlink(entry.path().c_str()) == 0) removed.push_back(name);
    ::close(fd);
  }
  return removed;
}

void refuseToOverwriteInput(const std::string& outWhat, const std::string& out, const std::vector<CommandInput>& inputs) {
  for (const CommandInput& in : inputs) {
    if (in.path.empty() || !sameFile(out, in.path)) continue;
    fail(fmt::format("{} '{}' is the same file as {} '{}': netc never overwrites one of its inputs; write elsewhere",
                     outWhat, out, in.what, in.path));
  }
}

}  // namespace netc
