// Writing result files so that each one is either complete on disk or reported as not saved. Every writer of
// netc's outputs (run folders, safetensors, report.html, stats.jsonl, samples, `netc init`/`grad`) goes
// through here; every failure is a netc::Error "cannot write 'PATH': <strerror(errno)>".
//
// Whole files are written to a temporary ".NAME.tmpXXXXXX" beside the destination, flushed, fsynced, renamed
// over it, and the folder is fsynced: a crash or kill -9 at any moment leaves the old file or the new one,
// never half of one. The writer holds flock on its temporary while it exists, so removeStaleTemporaries()
// can tell a live writer's temporary from one a killed writer left behind.
//
// What is already at the destination decides how it is written (see OutputPath):
//   - nothing, or a regular file: replaced as above;
//   - in netc's own folders (run and sweep folders, lr-find's folder, the lock, the CSVs) anything else, a
//     symbolic link included, is refused: netc never follows a link, nor replaces a device, where it makes its
//     own files, so a link planted in a shared folder cannot redirect a write;
//   - at a path the user named (--out of init, grad, compare; --stats): a character device or a FIFO, or a
//     link to one (/dev/null, /dev/stdout, a pipe), is written in place, and its write errors reported
//     (/dev/full: "No space left on device"); a directory, a block device, a socket, a dangling link or a link
//     to a regular file is refused (netc replaces a file whole, so it would replace the link, not the file).
#pragma once
#include <cstdint>
#include <fmt/format.h>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace netc {

// Who chose the destination's name, which decides what may already be there (see above).
enum class OutputPath {
  Own,    // a file netc names in one of its folders
  Named,  // a path given on the command line
};

// Replaces `path` by `contents` atomically and durably (see above). The file is readable by all (0644).
void writeFileAtomically(const std::string& path, std::string_view contents, OutputPath kind = OutputPath::Own);

// Checks, before anything is computed or written, that writeFileAtomically(path, ..., kind) can write `path`:
// what is there may be written (see above) and its folder takes a new file (a temporary is created there and
// removed). A command with several outputs checks them all first, so a bad second path does not leave the
// first one written. Throws as the write would ("cannot write 'PATH': ...").
void checkOutputPath(const std::string& path, OutputPath kind = OutputPath::Own);

// Opens one of netc's own files for writing (a lock file, a CSV, a progress file), creating it 0644 when
// absent, without following a symbolic link; anything but a regular file is refused. Throws naming the path.
enum class OpenMode { Keep, Truncate };
int openOwnFile(const std::string& path, int access, OpenMode mode);

// fsync on a folder: makes its new entries and renames durable. Throws naming the folder.
void syncDirectory(const std::string& dir);

// A file that grows line by line (losses.csv, evals.csv, stats.jsonl). Lines collect in a buffer reserved
// up front (print() does not allocate per call) and reach the file in whole lines, with every write checked.
// close() must be called to see the last errors; the destructor writes what it can and closes, quietly (it
// also runs while another error is being reported).
class AppendFile {
 public:
  AppendFile() = default;
  // Creates the file, or empties it (OpenMode::Truncate) or appends to its lines (OpenMode::Keep); a symbolic
  // link or anything else that is not a regular file is refused (openOwnFile). Throws naming the path.
  explicit AppendFile(std::string path, OpenMode mode = OpenMode::Truncate);
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

// Removes the temporaries that writers which are gone left in `dir`: exactly ".NAME.tmpXXXXXX" (the form
// writeFileAtomically makes: six letters or digits) for NAME among `names`, the files netc writes there. Any
// other file is the user's and stays ("model.tmp", "notes.tmp", ".data.txt.tmp123456"), and so does a
// temporary a live writer still holds (flock). Returns the names removed.
std::vector<std::string> removeStaleTemporaries(const std::string& dir, const std::vector<std::string>& names);

// Whether two paths name the same file, existing (hard links, symlinks) or not yet (two spellings of one path).
bool sameFile(const std::string& a, const std::string& b);

// One input of a command: what it is ("--weights") and its path.
struct CommandInput {
  std::string what, path;
};
// Refuses to write `out` when it is the same file as one of `inputs` (std::filesystem::equivalent: hard links,
// symlinks and other spellings of a path included), so no command replaces what it reads.
void refuseToOverwriteInput(const std::string& outWhat, const std::string& out, const std::vector<CommandInput>& inputs);

}  // namespace netc
