#include "driver/sweep_files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/files/atomic_file.h"
#include "support/diag.h"
#include "support/files.h"

namespace netc::driver {

namespace {

[[noreturn]] void refuseKind(const std::string& path, mode_t m, const std::string& expected) {
  fail(fmt::format("'{}' is {}, where a sweep keeps {} of its own: a sweep never writes through it; remove it, or "
                   "use another --out", path, fileKind(m), expected));
}

}  // namespace

OwnFolder::OwnFolder(std::string path) : path_(std::move(path)) {
  if (::mkdir(path_.c_str(), 0755) != 0 && errno != EEXIST)
    fail(fmt::format("cannot create the folder '{}': {}", path_, std::strerror(errno)));
  fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st{};
  if (fd_ < 0 && (errno == ELOOP || errno == ENOTDIR) && ::lstat(path_.c_str(), &st) == 0)
    refuseKind(path_, st.st_mode, "a folder");
  if (fd_ < 0) fail(fmt::format("cannot open the folder '{}': {}", path_, std::strerror(errno)));
}

OwnFolder::~OwnFolder() {
  if (fd_ >= 0) ::close(fd_);
}

std::string OwnFolder::pathOf(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }

void OwnFolder::checkName(const std::string& name) const {
  struct stat st{};
  if (::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
    refuseKind(pathOf(name), st.st_mode, "a file");
}

int OwnFolder::createFile(const std::string& name) const {
  checkName(name);
  // An earlier sweep's log: removed (the name, not what a link would point at) and created anew below.
  if (::unlinkat(fd_, name.c_str(), 0) != 0 && errno != ENOENT)
    fail(fmt::format("cannot replace '{}': {}", pathOf(name), std::strerror(errno)));
  // O_EXCL with O_CREAT never follows a link: whatever appeared there since the unlink is refused.
  int fd = ::openat(fd_, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot create '{}': {}", pathOf(name), std::strerror(errno)));
  return fd;
}

void lockSweepFolder(const std::string& folder) {
  const std::string path = (std::filesystem::path(folder) / ".sweep.lock").string();
  // Opened as every file netc keeps in its folders: never through a link, a FIFO or a second name.
  int fd = openOwnFile(path, O_RDWR, OpenMode::Keep);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    fail(fmt::format("{} is in use by another netc sweep (its lock {} is held)", folder, path));
  // Held, open, until the process exits.
}

void markExecutable(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st{};
  if (fd < 0) fail(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    refuseKind(path, st.st_mode, "a file");
  }
  const int err = ::fchmod(fd, st.st_mode | S_IXUSR | S_IXGRP | S_IXOTH) == 0 ? 0 : errno;
  ::close(fd);
  if (err != 0) fail(fmt::format("cannot make '{}' executable: {}", path, std::strerror(err)));
}

}  // namespace netc::driver
