// Writing result files so that each one is either complete on disk or reported as not saved. Every writer of
// netc's outputs (run folders, safetensors, report.html, stats.jsonl, samples, `netc init`/`grad`) goes
// through here; every failure is a netc::Error "cannot write 'PATH': <strerror(errno)>".
//
// Whole files are written to a temporary ".NAME.tmpXXXXXX" beside the destination, flushed, fsynced, renamed
// over it, and the folder is fsynced: a crash or kill -9 at any moment leaves the old file or the new one,
// never half of one. The writer holds flock on its temporary while it exists, so removeStaleTemporaries()
// can tell a live writer's temporary from one a killed writer left behind.
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netc {

// Replaces `path` by `contents` atomically and durably (see above). The file is readable by all (0644).
void writeFileAtomically(const std::string& path, std::string_view contents);

// fsync on a folder: makes its new entries and renames durable. Throws naming the folder.
void syncDirectory(const std::string& dir);

// A file that grows line by line (losses.csv, evals.csv, stats.jsonl). Lines collect in a buffer reserved
// up front (print() does not allocate per call) and reach the file in whole lines, with every write checked.
// close() must be called to see the last errors; the destructor writes what it can and closes, quietly (it
// also runs while another error is being reported).
class AppendFile {
 public:
  AppendFile() = default;
  explicit AppendFile(std::string path);  // creates or truncates; throws naming the path
  ~AppendFile();
  AppendFile(AppendFile&& o) noexcept { *this = std::move(o); }
  AppendFile& operator=(AppendFile&& o) noexcept;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  template <class... Args>
  void print(fmt::format_string<Args...> f, Args&&... args) {
    fmt::format_to(std::back_inserter(buf_), f, std::forward<Args>(args)...);
    if (buf_.size() >= kFlushAt) flush();
  }
  void flush();  // the buffer to the kernel
  void sync();   // flush, then fsync: what was printed survives a crash of the machine
  void close();  // sync and close; a no-op when closed
  bool isOpen() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

 private:
  void closeQuietly() noexcept;
  static constexpr size_t kFlushAt = 64 << 10;
  std::string path_;
  int fd_ = -1;
  std::string buf_;
};

// The complete lines of a file written by appending (losses.csv, evals.csv, stats.jsonl, samples.txt). A last
// line without its newline is what a writer killed mid-line (or out of space) left: it is dropped, not
// misread as a shorter number. Only a regular file of at most kMaxAppendedFileBytes is read (support/files.h,
// readRegularFile: a FIFO or a link to /dev/zero is refused, never waited on or read without end). Throws
// naming the path when the file cannot be read.
inline constexpr uint64_t kMaxAppendedFileBytes = uint64_t{4} << 30;
std::vector<std::string> readCompleteLines(const std::string& path);

// Removes the temporaries that writers which are gone left in `dir`: ".NAME.tmpXXXXXX" (writeFileAtomically)
// and "NAME.tmp" (older netc versions). One that a live writer still holds (flock) is left alone. Returns the
// names removed.
std::vector<std::string> removeStaleTemporaries(const std::string& dir);

// One input of a command: what it is ("--weights") and its path.
struct CommandInput {
  std::string what, path;
};
// Refuses to write `out` when it is the same file as one of `inputs` (std::filesystem::equivalent: hard links,
// symlinks and other spellings of a path included), so no command replaces what it reads.
void refuseToOverwriteInput(const std::string& outWhat, const std::string& out, const std::vector<CommandInput>& inputs);

}  // namespace netc
