// Diagnostics: every user-facing error carries file:line:col, the source line with a caret,
// and a message saying what was expected and what was found.
#pragma once
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace netc {

struct SrcLoc {
  int line = 0;  // 1-based; 0 means "no location"
  int col = 0;   // 1-based
  int len = 1;   // length of the offending text, for the underline
};

// A stretch of source text from line:col up to endLine:endCol (exclusive), 1-based; line 0 means none.
// Expressions keep theirs so that messages can quote what the user wrote.
struct SrcSpan {
  int line = 0, col = 0;
  int endLine = 0, endCol = 0;
  bool empty() const { return line <= 0; }
};
// From the start of a to the end of b.
inline SrcSpan joinSpans(SrcSpan a, SrcSpan b) { return a.empty() ? b : b.empty() ? a : SrcSpan{a.line, a.col, b.endLine, b.endCol}; }
inline SrcSpan spanOf(SrcLoc loc) { return loc.line > 0 ? SrcSpan{loc.line, loc.col, loc.line, loc.col + loc.len} : SrcSpan{}; }

// The text of one .net file, kept alive by everything that may report an error in it.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  std::string_view lineText(int line) const;
  // The text of a span as one line: a span over several lines has each line's comment cut and its
  // whitespace trimmed, the lines joined by single spaces. "" when the span lies outside the file.
  std::string spanText(SrcSpan span) const;

  // Lines from `firstLine` on stand for text from the command line (`--set NAME=VALUE`, compiler/lower/
  // overrides.h): they hold a parseable form of it, column for column, and errors there quote `shown[i]`
  // instead, with that text as the location ("--set gain=3x: error: ...").
  void setCommandLines(int firstLine, std::vector<std::string> shown) {
    firstCommandLine_ = firstLine, commandLines_ = std::move(shown);
  }
  const std::string* commandLine(int line) const {
    if (firstCommandLine_ <= 0 || line < firstCommandLine_) return nullptr;
    size_t i = static_cast<size_t>(line - firstCommandLine_);
    return i < commandLines_.size() ? &commandLines_[i] : nullptr;
  }

 private:
  std::string path_;
  std::string text_;
  std::vector<size_t> lineStarts_;
  int firstCommandLine_ = 0;
  std::vector<std::string> commandLines_;
};
using SourceRef = std::shared_ptr<const SourceFile>;

// The one exception type netc throws for bad input. what() is the fully formatted message.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& formatted) : std::runtime_error(formatted) {}
};

// `text` as it may be shown on a terminal: printable ASCII and valid UTF-8 unchanged, a backslash doubled,
// every other byte escaped (\n \t \r, or \xNN: control bytes, escape sequences, NUL, invalid UTF-8, C1
// controls), and a bidirectional formatting character as \uXXXX (U+061C, U+200E/U+200F, U+202A..U+202E,
// U+2066..U+2069: raw, they would reorder the message on the terminal). Newlines are kept when `keepNewlines`.
// formatDiag applies it to every message and quoted line, so user text goes into messages as it is and is
// escaped exactly once.
std::string printable(std::string_view text, bool keepNewlines = false);

// "file:line:col: error: msg" followed by the line and a caret under the offending text.
std::string formatDiag(const SourceFile* src, SrcLoc loc, std::string_view msg,
                       std::string_view kind = "error");

[[noreturn]] void fail(const SourceFile* src, SrcLoc loc, std::string_view msg);
[[noreturn]] inline void fail(const SourceRef& src, SrcLoc loc, std::string_view msg) {
  fail(src.get(), loc, msg);
}
[[noreturn]] void fail(std::string_view msg);  // errors with no source position

// A bad value on the command line (`--steps -5`): "netc: error: msg", exit status 2 (main.cpp maps it).
class UsageError : public Error {
 public:
  using Error::Error;
};
[[noreturn]] void usageFail(std::string_view msg);

// "netc: warning: msg" on stderr: something legal that is probably not what was meant. The command goes on.
void warn(std::string_view msg);

// The candidate closest to `name` by edit distance, or "" when none is plausibly meant.
std::string nearest(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string didYouMean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace netc
