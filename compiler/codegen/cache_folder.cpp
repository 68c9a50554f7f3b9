#include "codegen/cache_folder.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <random>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace netc::codegen {

namespace {

bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool isAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string modeText(mode_t mode) { return fmt::format("{:04o}", static_cast<unsigned>(mode & 07777)); }

// Every missing folder of `path` created with mode 0700: the umask might otherwise leave the cache folder
// writable by the group, which open() then refuses. Failures are left for open() to report.
void createFolders(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (!prefix.empty()) ::mkdir(prefix.c_str(), 0700);
    if (slash == std::string::npos) break;
  }
}

// 16 random hex digits for a temporary's name: unique among concurrent writers on every node of a shared
// folder (a process id alone is not).
std::string randomSuffix() {
  static std::atomic<std::uint64_t> counter{0};
  thread_local std::mt19937_64 rng{(std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^
                                   static_cast<std::uint64_t>(::getpid())};
  return fmt::format("{:016x}", rng() ^ counter++);
}

constexpr std::time_t kStaleTemporarySeconds = 3600;

}  // namespace

bool isCacheKey(std::string_view s) { return s.size() == 32 && std::all_of(s.begin(), s.end(), isHexDigit); }

bool isCacheFileName(std::string_view name, const std::set<std::string>& extensions, bool* temporary) {
  if (temporary) *temporary = false;
  if (name.size() < 34 || !isCacheKey(name.substr(0, 32)) || name[32] != '.') return false;
  std::string_view rest = name.substr(33);
  if (extensions.count(std::string(rest))) return true;
  for (const std::string& ext : extensions) {
    const std::string prefix = ext + ".tmp";
    if (rest.substr(0, prefix.size()) != prefix) continue;
    std::string_view suffix = rest.substr(prefix.size());
    if (suffix.size() >= 6 && suffix.size() <= 16 && std::all_of(suffix.begin(), suffix.end(), isAlnum)) {
      if (temporary) *temporary = true;
      return true;
    }
  }
  return false;
}

std::optional<std::uint64_t> parseWholeNumber(std::string_view text, std::uint64_t max) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (c < '0' || c > '9' || value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::unique_ptr<CacheFolder> CacheFolder::open(const std::string& path, std::string& why) {
  createFolders(path);
  // The folder itself may be reached through a link (a home on another disk): the user named it. Everything
  // inside is reached through this descriptor, so a folder swapped after this check changes nothing.
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    why = fmt::format("it cannot be created or opened ({})", std::strerror(errno));
    return nullptr;
  }
  struct stat st {};
  const uid_t me = ::geteuid();
  if (::fstat(fd, &st) != 0) {
    why = fmt::format("it cannot be examined ({})", std::strerror(errno));
  } else if (st.st_uid != me) {
    why = fmt::format("it belongs to user {}, not to you (user {}): point NETC_CACHE_DIR at a folder of your own",
                      st.st_uid, me);
  } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    why = fmt::format("other users can write to it (mode {}): run chmod go-w on it, or point NETC_CACHE_DIR at a "
                      "folder of your own", modeText(st.st_mode));
  } else if (::faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
    why = fmt::format("you cannot write to it ({})", std::strerror(errno));
  }
  if (!why.empty()) {
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<CacheFolder>(new CacheFolder(path, fd));
}

CacheFolder::~CacheFolder() { ::close(fd_); }

CacheFolder::Read CacheFolder::read(const std::string& key, std::string_view ext, std::uint64_t maxBytes) const {
  Read r;
  if (!isCacheKey(key)) {
    r.problem = "it is not named by a cache key";
    return r;
  }
  const std::string name = fileName(key, ext);
  // Looked at before opening, so nothing but a regular file is ever opened (opening a device can act on it).
  struct stat before {};
  if (::fstatat(fd_, name.c_str(), &before, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) r.missing = true;
    else r.problem = fmt::format("it cannot be examined ({})", std::strerror(errno));
    return r;
  }
  if (!S_ISREG(before.st_mode)) {
    r.problem = S_ISLNK(before.st_mode) ? "it is a symbolic link, not a regular file" : "it is not a regular file";
    return r;
  }
  // O_NOFOLLOW and O_NONBLOCK again, for a file replaced between the two calls: never a link, never a wait.
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) r.missing = true;  // pruned meanwhile
    else r.problem = fmt::format("it cannot be opened ({})", std::strerror(errno));
    return r;
  }
  struct stat st {};
  const uid_t me = ::geteuid();
  if (::fstat(fd, &st) != 0) r.problem = fmt::format("it cannot be examined ({})", std::strerror(errno));
  else if (!S_ISREG(st.st_mode)) r.problem = "it is not a regular file";
  else if (st.st_uid != me) r.problem = fmt::format("it belongs to user {}, not to you (user {})", st.st_uid, me);
  else if (st.st_mode & (S_IWGRP | S_IWOTH))
    r.problem = fmt::format("other users can write to it (mode {})", modeText(st.st_mode));
  else if (static_cast<std::uint64_t>(st.st_size) > maxBytes)
    r.problem = fmt::format("it is {} bytes, more than netc ever writes there ({})", st.st_size, maxBytes);
  if (r.problem.empty()) {
    r.bytes.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < r.bytes.size()) {
      ssize_t n = ::read(fd, r.bytes.data() + got, r.bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != r.bytes.size()) r.problem = fmt::format("it could not be read whole ({} of {} bytes)", got, r.bytes.size());
    else ::futimens(fd, nullptr);  // used now: pruning goes by the time of last use
  }
  ::close(fd);
  if (!r.problem.empty()) r.bytes.clear();
  return r;
}

bool CacheFolder::writeAtomically(const std::string& key, std::string_view ext, std::string_view bytes) const {
  if (!isCacheKey(key)) return false;
  const std::string name = fileName(key, ext);
  const std::string tmp = name + ".tmp" + randomSuffix();
  int fd = ::openat(fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const char* p = bytes.data();
  size_t left = bytes.size();
  bool ok = true;
  while (left > 0 && ok) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else p += n, left -= static_cast<size_t>(n);
  }
  ok = ::close(fd) == 0 && ok;
  // rename replaces whatever has the name (a link included) without following it.
  if (ok && ::renameat(fd_, tmp.c_str(), fd_, name.c_str()) == 0) return true;
  ::unlinkat(fd_, tmp.c_str(), 0);
  return false;
}

void CacheFolder::prune(std::uint64_t limitBytes, const std::set<std::string>& keep,
                        const std::set<std::string>& extensions) const {
  int listFd = ::dup(fd_);
  if (listFd < 0) return;
  DIR* dir = ::fdopendir(listFd);
  if (!dir) {
    ::close(listFd);
    return;
  }
  ::rewinddir(dir);  // the duplicate shares its position with fd_
  const uid_t me = ::geteuid();
  const std::time_t now = std::time(nullptr);
  struct Entry {
    struct timespec used;
    std::uint64_t size;
    std::string name;
  };
  std::vector<Entry> entries;
  std::vector<std::string> stale;  // temporaries of writers killed before renaming them
  std::uint64_t total = 0;
  while (const struct dirent* d = ::readdir(dir)) {
    bool temporary = false;
    if (!isCacheFileName(d->d_name, extensions, &temporary)) continue;  // not netc's: never touched
    struct stat st {};
    if (::fstatat(fd_, d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) || st.st_uid != me) continue;
    if (temporary) {
      if (now - st.st_mtim.tv_sec > kStaleTemporarySeconds) stale.emplace_back(d->d_name);
      continue;
    }
    entries.push_back({st.st_mtim, static_cast<std::uint64_t>(st.st_size), d->d_name});
    total += static_cast<std::uint64_t>(st.st_size);
  }
  ::closedir(dir);
  for (const std::string& name : stale) ::unlinkat(fd_, name.c_str(), 0);
  if (total <= limitBytes) return;
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.used.tv_sec, a.used.tv_nsec, a.name) < std::tie(b.used.tv_sec, b.used.tv_nsec, b.name);
  });
  const std::uint64_t target = limitBytes / 4 * 3;
  for (const Entry& e : entries) {
    if (total <= target) break;
    if (keep.count(e.name)) continue;
    // A file already removed by a concurrent pruner counts as removed: its bytes are gone either way.
    if (::unlinkat(fd_, e.name.c_str(), 0) == 0 || errno == ENOENT) total -= e.size;
  }
}

}  // namespace netc::codegen
