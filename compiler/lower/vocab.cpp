#include "lower/vocab.h"

#include <algorithm>
#include <fmt/format.h>

#include "support/diag.h"
#include "support/files.h"

namespace netc {

WordFile readWordFile(const std::string& path) {
  if (inputFileProblem(path) == "no such file")
    fail(fmt::format("cannot open dataset file '{}': expected a one-word-per-line text file", path));
  const std::string text = readInputFile(path, "dataset file", kMaxDataFileBytes);
  WordFile wf;
  wf.path = path;
  int lineNo = 0;
  for (size_t start = 0; start < text.size();) {
    const size_t newline = std::min(text.find('\n', start), text.size());
    std::string line = text.substr(start, newline - start);
    start = newline + 1;
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    for (size_t i = 0; i < line.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(line[i]);
      std::string why;
      if (c == '.') why = "'.', which marks the start and end of every word";
      else if (c == ' ' || c == '\t') why = "whitespace (expected one word per line)";
      else if (c < 0x20 || c == 0x7f) why = fmt::format("the control character 0x{:02x}", c);
      else if (c >= 0x80) why = fmt::format("the non-ASCII byte 0x{:02x} (only ASCII characters are supported)", c);
      if (!why.empty())
        fail(fmt::format("{}:{}:{}: the word '{}' contains {}", path, lineNo, i + 1,
                         line.size() > 40 ? line.substr(0, 40) + "..." : line, why));
    }
    wf.words.push_back(line);
    wf.lines.push_back(lineNo);
  }
  if (wf.words.empty()) fail(fmt::format("dataset file '{}' has no words: expected one word per line", path));
  return wf;
}

Vocabulary::Vocabulary(const std::vector<std::string>& words) : Vocabulary() {
  bool seen[256] = {};
  for (const auto& w : words)
    for (char c : w) seen[static_cast<unsigned char>(c)] = true;
  chars = ".";
  for (int c = 0; c < 256; ++c)
    if (seen[c] && c != '.') chars += static_cast<char>(c);
  for (size_t i = 0; i < chars.size(); ++i) index[static_cast<unsigned char>(chars[i])] = static_cast<int>(i);
}

}  // namespace netc
