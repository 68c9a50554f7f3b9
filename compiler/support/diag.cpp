#include "support/diag.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fmt/format.h>

namespace netc {

SourceFile::SourceFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) {
  lineStarts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') lineStarts_.push_back(i + 1);
}

std::string_view SourceFile::lineText(int line) const {
  if (line < 1 || static_cast<size_t>(line) > lineStarts_.size()) return {};
  size_t begin = lineStarts_[line - 1];
  size_t end = text_.find('\n', begin);
  if (end == std::string::npos) end = text_.size();
  std::string_view v(text_.data() + begin, end - begin);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  return v;
}

std::string SourceFile::spanText(SrcSpan span) const {
  if (span.empty() || span.endLine < span.line || static_cast<size_t>(span.endLine) > lineStarts_.size()) return "";
  if (span.line == span.endLine) {
    std::string_view l = lineText(span.line);
    if (span.col < 1 || span.endCol < span.col || static_cast<size_t>(span.endCol - 1) > l.size()) return "";
    return std::string(l.substr(span.col - 1, span.endCol - span.col));
  }
  auto trim = [](std::string_view v) {
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
    return v;
  };
  std::string out;
  for (int line = span.line; line <= span.endLine; ++line) {
    std::string_view l = lineText(line);
    if (line == span.endLine) l = l.substr(0, std::min(l.size(), static_cast<size_t>(std::max(0, span.endCol - 1))));
    if (line == span.line) l = l.substr(std::min(l.size(), static_cast<size_t>(std::max(0, span.col - 1))));
    if (size_t hash = l.find('#'); hash != std::string_view::npos) l = l.substr(0, hash);
    l = trim(l);
    if (l.empty()) continue;
    // no space just inside brackets: "(\n  a,\n  b\n)" reads "(a, b)"
    if (!out.empty() && out.back() != '(' && out.back() != '[' && l.front() != ')' && l.front() != ']') out += ' ';
    out += l;
  }
  return out;
}

// One byte sequence of valid UTF-8 starting at s[i] that is printable (not a C1 control), or 0.
static size_t printableUtf8(std::string_view s, size_t i) {
  auto cont = [&](size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80; };
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  for (size_t k = 1; k < n; ++k)
    if (!cont(k)) return 0;
  if (n == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) return 0;  // U+0080..U+009F
  if (n == 3 && ((c == 0xe0 && static_cast<unsigned char>(s[i + 1]) < 0xa0) ||      // overlong
                 (c == 0xed && static_cast<unsigned char>(s[i + 1]) >= 0xa0)))       // surrogates
    return 0;
  if (n == 4 && ((c == 0xf0 && static_cast<unsigned char>(s[i + 1]) < 0x90) ||
                 (c == 0xf4 && static_cast<unsigned char>(s[i + 1]) >= 0x90)))
    return 0;
  return n;
}

// The code point of the bidirectional formatting character that the n bytes at s[i] encode, or 0: U+061C,
// U+200E/U+200F, U+202A..U+202E, U+2066..U+2069. Shown raw they reorder the text around them on a terminal,
// so a value could make a message read as something else (a file name that displays reversed).
static unsigned bidiControl(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned cp = n == 2 ? (b(0) & 0x1fu) << 6 | (b(1) & 0x3fu)
              : n == 3 ? (b(0) & 0x0fu) << 12 | (b(1) & 0x3fu) << 6 | (b(2) & 0x3fu)
                       : 0;
  bool bidi = cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
              (cp >= 0x2066 && cp <= 0x2069);
  return bidi ? cp : 0;
}

// Appends text[i...] escaped as one unit (a byte, or a whole printable UTF-8 character); returns its length.
// `keepBackslashes`: a backslash stays one, for messages whose values were made printable already (doubling
// it again would show `\\n` for an escaped newline).
static size_t escapeUnit(std::string_view text, size_t i, bool keepNewlines, std::string& out, bool keepBackslashes = false) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  if (c >= 0x20 && c < 0x7f && c != '\\') return out += static_cast<char>(c), 1;
  if (c == '\\') return out += keepBackslashes ? "\\" : "\\\\", 1;
  if (c == '\n' && keepNewlines) return out += '\n', 1;
  if (size_t n = c >= 0x80 ? printableUtf8(text, i) : 0) {
    if (unsigned cp = bidiControl(text, i, n)) return out += fmt::format("\\u{:04x}", cp), n;
    return out.append(text.substr(i, n)), n;
  }
  out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : fmt::format("\\x{:02x}", c);
  return 1;
}

std::string printable(std::string_view text, bool keepNewlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) i += escapeUnit(text, i, keepNewlines, out);
  return out;
}

std::string formatDiag(const SourceFile* src, SrcLoc loc, std::string_view msg, std::string_view kind) {
  std::string out;
  // Every message passes here, so this is where the user's text in it (file names, data words, values) is
  // made printable: a control byte or escape sequence from a file must not reach the terminal, nor a NUL cut
  // the message off. Messages keep their own line breaks; file names and the quoted line do not have any.
  // A backslash in a message stays as it is: where a message shows a value (a path, a word), its caller made it
  // printable() already, backslashes doubled and newlines escaped, and a second doubling would garble it.
  std::string text;
  for (size_t i = 0; i < msg.size();) i += escapeUnit(msg, i, /*keepNewlines=*/true, text, /*keepBackslashes=*/true);
  msg = text;
  if (src && loc.line > 0) {
    const std::string* cmdline = src->commandLine(loc.line);
    out = cmdline ? fmt::format("{}: {}: {}\n", printable(*cmdline), kind, msg)
                  : fmt::format("{}:{}:{}: {}: {}\n", printable(src->path()), loc.line, loc.col, kind, msg);
    std::string_view line = cmdline ? std::string_view(*cmdline) : src->lineText(loc.line);
    // The quoted line, escaped byte by byte (a tab as a space), with the caret's column and length moved to
    // where the escapes put the offending text.
    std::string shown;
    int col = std::max(1, loc.col), end = col + std::max(1, loc.len), shownCol = 0, shownEnd = 0;
    for (size_t i = 0; i <= line.size();) {
      if (static_cast<int>(i) + 1 <= col) shownCol = static_cast<int>(shown.size()) + 1;
      if (static_cast<int>(i) + 1 <= end) shownEnd = static_cast<int>(shown.size()) + 1;
      if (i == line.size()) break;
      if (line[i] == '\t') shown += ' ', ++i;
      else i += escapeUnit(line, i, false, shown);
    }
    loc.len = std::max(1, shownEnd - shownCol);
    col = shownCol;
    // A very long line is shown as a window around the column, marked with "...".
    constexpr size_t kWidth = 100, kBefore = 40;
    if (shown.size() > kWidth) {
      size_t at = static_cast<size_t>(col - 1);
      size_t start = std::min(at > kBefore ? at - kBefore : 0, shown.size() - kWidth);
      std::string prefix = start > 0 ? "..." : "";
      std::string suffix = start + kWidth < shown.size() ? "..." : "";
      shown = prefix + shown.substr(start, kWidth) + suffix;
      col = static_cast<int>(at - start + prefix.size() + 1);
    }
    if (cmdline) out += fmt::format("      | {}\n", shown);
    else out += fmt::format("{:>5} | {}\n", loc.line, shown);
    int len = std::max(1, std::min<int>(loc.len, static_cast<int>(shown.size()) - col + 1));
    out += fmt::format("      | {}^{}\n", std::string(col - 1, ' '), std::string(std::max(0, len - 1), '~'));
  } else if (src) {
    out = fmt::format("{}: {}: {}\n", printable(src->path()), kind, msg);
  } else {
    out = fmt::format("netc: {}: {}\n", kind, msg);
  }
  return out;
}

void fail(const SourceFile* src, SrcLoc loc, std::string_view msg) { throw Error(formatDiag(src, loc, msg)); }
void fail(std::string_view msg) { throw Error(formatDiag(nullptr, {}, msg)); }
void usageFail(std::string_view msg) { throw UsageError(formatDiag(nullptr, {}, msg)); }
void warn(std::string_view msg) {
  std::fflush(stdout);  // in order with what the command printed before it
  std::fputs(formatDiag(nullptr, {}, msg, "warning").c_str(), stderr);
}

static size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  size_t bestD = SIZE_MAX;
  for (const auto& c : candidates) {
    size_t d = editDistance(name, c);
    if (d < bestD) bestD = d, best = c;
  }
  // Only suggest when the candidate is plausibly a typo of the name.
  // Replacing every character is no typo ('h' is not a misspelt 'C').
  size_t longer = std::max(name.size(), best.size());
  size_t limit = std::max<size_t>(1, longer / 2);
  return bestD <= limit && bestD < longer ? best : std::string();
}

std::string didYouMean(std::string_view name, const std::vector<std::string>& candidates) {
  std::string n = nearest(name, candidates);
  // The name itself is no suggestion: a known name used wrongly needs its own message, not "did you mean it".
  return n.empty() || n == name ? std::string() : fmt::format(" (did you mean '{}'?)", n);
}

}  // namespace netc
