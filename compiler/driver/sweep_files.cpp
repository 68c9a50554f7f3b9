#include "driver/sweep_files.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/diag.h"

namespace netc::driver {

namespace {

std::string kindOf(mode_t m) {
  if (S_ISLNK(m)) return "a symbolic link";
  if (S_ISDIR(m)) return "a folder";
  if (S_ISFIFO(m)) return "a FIFO";
  if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

[[noreturn]] void refuseKind(const std::string& path, mode_t m, const std::string& expected) {
  fail(fmt::format("'{}' is {}, not {} netc made: a sweep never writes through it; remove it, or use another --out",
                   path, kindOf(m), expected));
}

}  // namespace

void makeOwnFolder(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) refuseKind(path, st.st_mode, "a folder");
    return;
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    fail(fmt::format("cannot create the folder '{}': {}", path, std::strerror(errno)));
  // Another process may have made something else there between the two calls.
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) refuseKind(path, st.st_mode, "a folder");
}

void checkOwnFileName(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) refuseKind(path, st.st_mode, "a file");
}

int createOwnFile(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) refuseKind(path, st.st_mode, "a file");
    // An earlier sweep's log: removed (the name, not what a link would point at) and created anew below.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      fail(fmt::format("cannot replace '{}': {}", path, std::strerror(errno)));
  }
  // O_EXCL with O_CREAT never follows a link: whatever appeared there since the unlink is refused.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail(fmt::format("cannot create '{}': {}", path, std::strerror(errno)));
  return fd;
}

void lockSweepFolder(const std::string& folder) {
  const std::string path = (std::filesystem::path(folder) / ".sweep.lock").string();
  // O_NONBLOCK: a FIFO planted under this name must not hang the open.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  struct stat st{};
  if (fd < 0 && errno == ELOOP && ::lstat(path.c_str(), &st) == 0) refuseKind(path, st.st_mode, "a file");
  if (fd < 0) fail(fmt::format("cannot create the lock file '{}': {}", path, std::strerror(errno)));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) refuseKind(path, st.st_mode, "a file");
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
