// The folder the object cache keeps its files in, and the only code that touches it. It knows nothing of LLVM:
// it reads, writes and prunes files named `<32 hex digits>.<ext>` (a key and a kind, e.g. `.o`, `.step`), and
// it trusts nothing it did not check itself.
//
// - The folder is opened once and every file is reached through that descriptor by a plain name (openat,
//   renameat, unlinkat): no path is resolved twice, and no name can lead outside the folder.
// - The folder must belong to the user running netc and be writable by no one else (no group or other write
//   bit, which also covers ACLs that grant writing: they show in the group bits). Anything else is refused
//   and the cache is off for the process. Files of other users are never used anyway (below), so a folder
//   shared between users would give nothing, and would let others delete or rename the user's files.
// - A file is read only when it is a regular file (opened with O_NOFOLLOW | O_NONBLOCK: a symlink is refused,
//   a FIFO never blocks), owned by the user, writable by no one else, and within a size bound.
// - Files are written to a temporary and renamed into place, so a reader sees a whole file or none.
// - Pruning removes only the folder's own names (keys with a known extension, and temporaries as
//   writeAtomically names them), never anything else the folder holds.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace netc::codegen {

// A cache key: exactly 32 lowercase hex digits (a 128-bit hash).
bool isCacheKey(std::string_view s);

// The names pruning may delete: `<key>.<ext>` for the given extensions, and the temporaries writeAtomically
// creates for them (`<key>.<ext>.tmp` followed by 6 to 16 letters or digits: 16 hex digits now, the 6 of
// mkstemp in earlier versions). Nothing else, whatever it is called.
bool isCacheFileName(std::string_view name, const std::set<std::string>& extensions, bool* temporary = nullptr);

// A whole number written in decimal digits only, at most `max`; nullopt for anything else (empty, a sign, a
// space, a fraction, an exponent, a larger value).
std::optional<std::uint64_t> parseWholeNumber(std::string_view text, std::uint64_t max);
// $NETC_CACHE_MAX_MB: a whole number of megabytes, at most what a 64-bit count of bytes can hold.
inline std::optional<std::uint64_t> parseCacheMegabytes(std::string_view text) {
  return parseWholeNumber(text, UINT64_MAX >> 20);
}

class CacheFolder {
 public:
  // Creates the folder if it is missing (mode 0700, parents too) and checks it. nullptr with `why` set (a
  // sentence saying what was found and what to do) when it cannot be used.
  static std::unique_ptr<CacheFolder> open(const std::string& path, std::string& why);
  ~CacheFolder();
  CacheFolder(const CacheFolder&) = delete;
  CacheFolder& operator=(const CacheFolder&) = delete;

  const std::string& path() const { return path_; }
  std::string fileName(const std::string& key, std::string_view ext) const { return key + "." + std::string(ext); }

  // A file read whole, after the checks above. `missing`: there is no such file (a plain miss, not worth a
  // note); otherwise, when `problem` is set, the file is there but is not to be trusted.
  struct Read {
    std::string bytes;
    bool missing = false;
    std::string problem;
    bool ok() const { return !missing && problem.empty(); }
  };
  // `key` must be a cache key (anything else is a problem, never a path). The file's times are updated on a
  // successful read, so pruning removes the files unused the longest.
  Read read(const std::string& key, std::string_view ext, std::uint64_t maxBytes) const;

  // Into a temporary beside it, renamed into place. False when that failed (the cache is an optimisation: the
  // caller goes on without it).
  bool writeAtomically(const std::string& key, std::string_view ext, std::string_view bytes) const;

  // When the folder's own files (isCacheFileName) hold more than `limitBytes`, the least recently used go until
  // they hold at most 3/4 of it. Never removed: the names in `keep` (the files the caller uses), temporaries
  // younger than an hour (a writer may be about to rename them), files of other users, and anything that is not
  // a regular file. Concurrent pruners may race to remove the same file: whoever is second finds it gone.
  void prune(std::uint64_t limitBytes, const std::set<std::string>& keep, const std::set<std::string>& extensions) const;

 private:
  CacheFolder(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace netc::codegen
