// The character vocabulary of a one-word-per-line file, as in makemore: '.' (index 0, which starts and ends
// every word) followed by the sorted set of characters the file uses.
#pragma once
#include <string>
#include <vector>

namespace netc {

struct WordFile {
  std::string path;
  std::vector<std::string> words;
  std::vector<int> lines;  // 1-based line of each word, for error messages
};

// Reads words (blank lines skipped); a missing/empty file or a word with '.', spaces, control or non-ASCII
// characters is an error naming the line.
WordFile readWordFile(const std::string& path);

struct Vocabulary {
  std::string chars;  // chars[0] == '.'
  int index[256];
  Vocabulary() { std::fill(index, index + 256, -1); }
  explicit Vocabulary(const std::vector<std::string>& words);
  int size() const { return static_cast<int>(chars.size()); }
};

}  // namespace netc
