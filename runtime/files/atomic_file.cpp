#include "runtime/files/atomic_file.h"

#include <cctype>
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

// ".NAME.tmpXXXXXX" for one of `names`: mkstemp's six letters or digits after ".tmp".
bool isOwnTemporary(const std::string& entry, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const std::string prefix = "." + name + ".tmp";
    if (entry.size() != prefix.size() + 6 || entry.compare(0, prefix.size(), prefix) != 0) continue;
    bool six = true;
    for (size_t i = prefix.size(); i < entry.size(); ++i) six = six && std::isalnum(static_cast<unsigned char>(entry[i]));
    if (six) return true;
  }
  return false;
}

[[noreturn]] void refuseOwn(const std::string& path, const struct stat& st) {
  fail(fmt::format("cannot write '{}': it is {}, not a regular file (netc writes its own files only as regular "
                   "files, and never through a link): remove it, or choose another folder",
                   path, fileKind(st.st_mode)));
}

// A device or a FIFO the user named: written where it is, as a shell's `>` would (no temporary, no rename,
// which would replace the device node by a file). O_NONBLOCK: a FIFO nobody reads is an error, not a hang.
void writeInPlace(const std::string& path, std::string_view contents) {
  int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0 && errno == ENXIO)
    fail(fmt::format("cannot write '{}': nothing reads it (a FIFO with no reader, or a device with nothing behind it)", path));
  if (fd < 0) cannotWrite(path, errno);
  struct stat st{};
  int err = ::fstat(fd, &st) == 0 ? 0 : errno;
  if (err == 0 && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {  // replaced since it was looked at
    ::close(fd);
    fail(fmt::format("cannot write '{}': it changed while netc was writing it", path));
  }
  if (err == 0 && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err == 0) err = writeAll(fd, contents.data(), contents.size());
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) cannotWrite(path, err);
}

// Whether `path` is to be written in place (a device or FIFO the user named); refuses what may not be written.
bool writesInPlace(const std::string& path, OutputPath kind) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) return false;  // absent (or unreachable: creating the temporary says why)
  if (S_ISREG(st.st_mode)) return false;
  if (kind == OutputPath::Own) refuseOwn(path, st);
  struct stat target = st;
  if (S_ISLNK(st.st_mode) && ::stat(path.c_str(), &target) != 0)
    fail(fmt::format("cannot write '{}': it is a symbolic link to nothing ({}); netc does not create files through "
                     "links: remove it, or give another path", path, std::strerror(errno)));
  if (S_ISCHR(target.st_mode) || S_ISFIFO(target.st_mode)) return true;
  if (S_ISLNK(st.st_mode) && S_ISREG(target.st_mode))
    fail(fmt::format("cannot write '{}': it is a symbolic link to a file; netc replaces a file whole, by renaming a "
                     "new one over it, and does not write through links: give the file's own path", path));
  fail(fmt::format("cannot write '{}': it is {}; netc writes a regular file, or in place to a character device or "
                   "a FIFO (/dev/null, /dev/stdout, a pipe)", path, fileKind(target.st_mode)));
}

}  // namespace

bool sameFile(const std::string& a, const std::string& b) {
  std::error_code ec1, ec2;
  if (fs::equivalent(a, b, ec1) && !ec1) return true;
  fs::path ca = fs::weakly_canonical(fs::absolute(a, ec1), ec1), cb = fs::weakly_canonical(fs::absolute(b, ec2), ec2);
  return !ec1 && !ec2 && ca == cb;
}

int openOwnFile(const std::string& path, int access, OpenMode mode) {
  // O_NOFOLLOW: a planted link fails (ELOOP) instead of redirecting the write; O_NONBLOCK: a planted FIFO
  // does not hang the open. Truncating only after fstat: a device is never truncated.
  int fd = ::open(path.c_str(), access | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
  struct stat st{};
  if (fd < 0 && errno == ELOOP && ::lstat(path.c_str(), &st) == 0) refuseOwn(path, st);
  if (fd < 0 && errno == ENXIO && ::lstat(path.c_str(), &st) == 0) refuseOwn(path, st);  // a FIFO nobody reads
  if (fd < 0) cannotWrite(path, errno);
  int err = ::fstat(fd, &st) == 0 ? 0 : errno;
  if (err == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    refuseOwn(path, st);
  }
  // A second name for the file (a hard link planted in a shared folder) would let a write here change a file
  // elsewhere: netc's own files have one name.
  if (err == 0 && st.st_nlink > 1) {
    ::close(fd);
    fail(fmt::format("cannot write '{}': it has {} names (hard links), so writing it would change another file "
                     "too: remove it, or choose another folder", path, st.st_nlink));
  }
  if (err == 0 && ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) err = errno;
  if (err == 0 && mode == OpenMode::Truncate && ::ftruncate(fd, 0) != 0) err = errno;
  if (err != 0) {
    ::close(fd);
    cannotWrite(path, err);
  }
  return fd;
}

void syncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) cannotWrite(dir, errno);
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  // Some file systems cannot fsync a folder (EINVAL); their renames are as durable as they get.
  if (err != 0 && err != EINVAL) cannotWrite(dir, err);
}

// The temporary writeFileAtomically() writes `path` through: ".NAME.tmpXXXXXX" beside it, created, flock held.
static int createTemporary(const std::string& path, std::string& tmp) {
  tmp = (fs::path(folderOf(path)) / ("." + fs::path(path).filename().string() + ".tmpXXXXXX")).string();
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) cannotWrite(path, errno);
  // Held until close: tells removeStaleTemporaries() that this temporary has a live writer.
  ::flock(fd, LOCK_EX);
  return fd;
}

void checkOutputPath(const std::string& path, OutputPath kind) {
  // A device or FIFO is opened only when written: opening a FIFO now could be the reader's only chance.
  if (writesInPlace(path, kind)) return;
  // The very temporary a write would create, made and removed: the folder exists and takes new files.
  std::string tmp;
  int fd = createTemporary(path, tmp);
  ::unlink(tmp.c_str());
  ::close(fd);
}

void writeFileAtomically(const std::string& path, std::string_view contents, OutputPath kind) {
  if (writesInPlace(path, kind)) return writeInPlace(path, contents);
  const std::string dir = folderOf(path);
  std::string tmp;
  int fd = createTemporary(path, tmp);
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

AppendFile::AppendFile(std::string path, OpenMode mode) : path_(std::move(path)) {
  fd_ = openOwnFile(path_, O_WRONLY | O_APPEND, mode);
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

std::vector<std::string> removeStaleTemporaries(const std::string& dir, const std::vector<std::string>& names) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!isOwnTemporary(name, names) || !entry.is_regular_file(ec)) continue;
    int fd = ::open(entry.path().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
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
