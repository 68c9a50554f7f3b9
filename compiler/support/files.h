// Input files named by the user (the model, --data or the data section's path, --weights, --init-from,
// --inputs): what is wrong with one is said before it is opened, in words, instead of a
// std::filesystem::filesystem_error escaping from a query or a directory reading as an empty file.
#pragma once
#include <string>
#include <string_view>

namespace netc {

// "" when `path` names something that can be opened and read as a stream of bytes (a regular file, a FIFO,
// /dev/stdin, ...); else what is wrong: "no such file", "it is a directory", "too many levels of symbolic
// links (a symlink loop?)", "the name is too long (... characters in one component; at most ...)", ...
std::string inputFileProblem(const std::string& path);

// Fails with "cannot read <what> '<path>': <problem>" when inputFileProblem(path) is not empty.
void requireInputFile(const std::string& path, std::string_view what);

}  // namespace netc
