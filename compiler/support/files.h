// Input files named by the user (the model, --data or the data section's path, --weights, --init-from,
// --inputs): what is wrong with one is said before it is opened, in words, instead of a
// std::filesystem::filesystem_error escaping from a query or a directory reading as an empty file.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

// What a path is, in words, from its mode (lstat's, so a link is "a symbolic link"): "a directory", "a FIFO
// (named pipe)", "a character device", ... The one namer of every message that refuses a kind of file.
const char* fileKind(mode_t mode);

// The most netc reads of each kind of input, so that an endless pipe (`yes | netc run M --data /dev/stdin`)
// ends with an error naming the file and the bound instead of exhausting memory. Far above real inputs: a
// model file is a few KB, a word list a few MB, a config.json a few KB.
constexpr uint64_t kMaxModelFileBytes = 16ull << 20;    // a .net file
constexpr uint64_t kMaxDataFileBytes = 1ull << 30;      // a dataset's word list (--data, the data section)
constexpr uint64_t kMaxConfigFileBytes = 64ull << 20;   // a config.json given to --config
constexpr uint64_t kMaxTensorFileBytes = 16ull << 30;   // a safetensors file's data (the header has its own cap)

// "" when `path` names something netc reads as an input: a regular file, or a FIFO or pipe (a named pipe,
// /dev/stdin when it is a pipe or a file, `<(...)`), symlinks followed. Else what is wrong: "no such file",
// "it is a directory, not a file", "it is a character device (such as /dev/zero or a terminal), not a file:
// netc reads files and pipes" (likewise a block device or a socket), "too many levels of symbolic links (a
// symlink loop?)", ...
std::string inputFileProblem(const std::string& path);

// The whole contents of an input file the user named, read under the rule above: refused (before it is
// opened) when inputFileProblem says so, checked again on the open descriptor, and read up to `maxBytes`:
// more is "cannot read <what> '<path>': it holds more than 1 GiB; netc reads at most 1 GiB for a <what>" (a
// regular file's size is checked before it is read). A FIFO is opened blocking: a named pipe waits for its
// writer, as `cat` would.
std::string readInputFile(const std::string& path, std::string_view what, uint64_t maxBytes);

// An input stream read a piece at a time (a safetensors file: its header says how long the rest is). The
// same rule as readInputFile; read(n) returns up to n bytes, fewer only at the end of the file.
class InputFile {
 public:
  InputFile(const std::string& path, std::string_view what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  std::string read(uint64_t n);
  // The rest of the file, or nullopt when it holds more than `max` bytes (having read max + 1 of them).
  std::optional<std::string> readAtMost(uint64_t max);
  // Regular files know their size before they are read (nullopt for a pipe).
  std::optional<uint64_t> size() const { return size_; }

 private:
  std::vector<std::string> readPieces(uint64_t n, uint64_t& total);
  std::string path_, what_;
  int fd_ = -1;
  std::optional<uint64_t> size_;
};

// "16 MiB", "1 GiB": a bound in words.
std::string byteCount(uint64_t bytes);

// Fails with "cannot read <what> '<path>': <problem>" when inputFileProblem(path) is not empty.
void requireInputFile(const std::string& path, std::string_view what);

// The whole contents of a file that netc reads back from a folder (a run folder's config.json, result.json,
// losses.csv, ...), which anyone who can write to the folder may have replaced. Only a regular file is read:
// it is opened without blocking (a FIFO with no writer does not hang) and refused unless fstat says regular
// (a FIFO, a device such as /dev/zero, a socket, a directory: "it is a FIFO (named pipe), not a regular file"),
// and a file over `maxBytes` is refused before it is read ("it is N bytes; netc reads at most M"). Symlinks
// are followed: a link to a regular file is that file. Fails "cannot read <what> '<path>': <why>" (or
// "cannot read '<path>': <why>" when `what` is empty).
std::string readRegularFile(const std::string& path, std::string_view what, uint64_t maxBytes);

// The lines of text that a writer appended line by line: a last line without its newline is what a writer
// killed mid-line (or out of space) left, and is dropped, not misread as a shorter record.
std::vector<std::string> completeLines(std::string_view text);

}  // namespace netc
