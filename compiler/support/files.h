// Input files named by the user (the model, --data or the data section's path, --weights, --init-from,
// --inputs): what is wrong with one is said before it is opened, in words, instead of a
// std::filesystem::filesystem_error escaping from a query or a directory reading as an empty file.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

// "" when `path` names something that can be opened and read as a stream of bytes (a regular file, a FIFO,
// /dev/stdin, ...); else what is wrong: "no such file", "it is a directory", "too many levels of symbolic
// links (a symlink loop?)", "the name is too long (... characters in one component; at most ...)", ...
std::string inputFileProblem(const std::string& path);

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
