#include "lang/lexer.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>

namespace netc {

const char* tokName(Tok t) {
  switch (t) {
    case Tok::Ident: return "identifier";
    case Tok::Number: return "number";
    case Tok::String: return "string";
    case Tok::Newline: return "end of line";
    case Tok::End: return "end of file";
    case Tok::Assign: return "'='";
    case Tok::Colon: return "':'";
    case Tok::DotDot: return "'..'";
    case Tok::Comma: return "','";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBrack: return "'['";
    case Tok::RBrack: return "']'";
    case Tok::LBrace: return "'{'";
    case Tok::RBrace: return "'}'";
    case Tok::At: return "'@'";
    case Tok::Plus: return "'+'";
    case Tok::Minus: return "'-'";
    case Tok::Star: return "'*'";
    case Tok::Slash: return "'/'";
    case Tok::Power: return "'**'";
    case Tok::MatMul: return "'@'";
    case Tok::Dot: return "'.'";
  }
  return "?";
}

std::vector<Token> lex(const SourceRef& src) {
  const std::string& s = src->text();
  std::vector<Token> out;
  int line = 1, col = 1;
  size_t i = 0;
  int depth = 0;  // inside () or []: newlines are insignificant
  while (i < s.size()) {
    char c = s[i];
    size_t begin = i;
    int startCol = col;
    if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i, ++col;
      continue;
    }
    if (c == '\n') {
      ++i;
      if (depth == 0 && !out.empty() && out.back().kind != Tok::Newline)
        out.push_back(Token{Tok::Newline, "\\n", SrcLoc{line, startCol, 1}});
      ++line, col = 1;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') { ++i, ++col; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      col += static_cast<int>(i - begin);
      out.push_back(Token{Tok::Ident, s.substr(begin, i - begin), SrcLoc{line, startCol, static_cast<int>(i - begin)}});
      continue;
    }
    // A '.' joining two parts of a path (`layers.0.W`, `blocks.(i).attn`): written between a name, a number or
    // ')' and a name, a number or '(', without spaces. Anywhere else a '.' starts or continues a number.
    auto pathChar = [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_'; };
    if (c == '.' && i > 0 && (pathChar(s[i - 1]) || s[i - 1] == ')') && i + 1 < s.size() &&
        (pathChar(s[i + 1]) || s[i + 1] == '(') && !out.empty() && out.back().loc.line == line &&
        out.back().loc.col + out.back().loc.len == startCol) {
      ++i, ++col;
      out.push_back(Token{Tok::Dot, ".", SrcLoc{line, startCol, 1}});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      bool isInt = true;
      // A number right after a path's '.' is a whole part of the path (layers.0.W): no decimals there.
      const bool pathPart = !out.empty() && out.back().kind == Tok::Dot;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      // `0..T` is a range: the '.' of '..' is not a decimal point.
      if (!pathPart && i < s.size() && s[i] == '.' && !(i + 1 < s.size() && s[i + 1] == '.')) {
        isInt = false, ++i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      }
      if (!pathPart && i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        size_t j = i + 1;
        if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
        if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
          isInt = false, i = j;
          while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        }
      }
      std::string text = s.substr(begin, i - begin);
      SrcLoc loc{line, startCol, static_cast<int>(i - begin)};
      if (i < s.size() && (std::isalpha(static_cast<unsigned char>(s[i])) || s[i] == '_'))
        fail(src, SrcLoc{line, startCol, static_cast<int>(i - begin + 1)},
             fmt::format("malformed number '{}{}': expected digits, '.', or an exponent", text, s[i]));
      errno = 0;
      double v = std::strtod(text.c_str(), nullptr);
      if (errno == ERANGE) fail(src, loc, fmt::format("number '{}' is out of range", text));
      Token t{Tok::Number, text, loc, v, isInt, isInt ? parseWhole(text) : std::nullopt};
      out.push_back(t);
      col += static_cast<int>(i - begin);
      continue;
    }
    if (c == '"') {
      ++i;
      while (i < s.size() && s[i] != '"' && s[i] != '\n') ++i;
      if (i >= s.size() || s[i] != '"')
        fail(src, SrcLoc{line, startCol, static_cast<int>(i - begin)},
             "unterminated string: expected a closing '\"' on the same line");
      ++i;
      col += static_cast<int>(i - begin);
      out.push_back(Token{Tok::String, s.substr(begin + 1, i - begin - 2), SrcLoc{line, startCol, static_cast<int>(i - begin)}});
      continue;
    }
    Tok k;
    size_t n = 1;
    switch (c) {
      case '=': k = Tok::Assign; break;
      case ':': k = Tok::Colon; break;
      case '.':
        if (i + 1 < s.size() && s[i + 1] == '.') { k = Tok::DotDot, n = 2; break; }
        fail(src, SrcLoc{line, startCol, 1}, "unexpected character '.'");
      case ',': k = Tok::Comma; break;
      case '(': k = Tok::LParen; ++depth; break;
      case ')': k = Tok::RParen; if (depth > 0) --depth; break;
      case '[': k = Tok::LBrack; ++depth; break;
      case ']': k = Tok::RBrack; if (depth > 0) --depth; break;
      case '{': k = Tok::LBrace; break;
      case '}': k = Tok::RBrace; break;
      case '+': k = Tok::Plus; break;
      case '-': k = Tok::Minus; break;
      case '/': k = Tok::Slash; break;
      case '*':
        if (i + 1 < s.size() && s[i + 1] == '*') k = Tok::Power, n = 2;
        else k = Tok::Star;
        break;
      case '^': k = Tok::Power; break;
      case '@': {
        // '@' opening a line is an annotation; anywhere else it is the matrix product.
        bool lineStart = out.empty() || out.back().kind == Tok::Newline || out.back().kind == Tok::LBrace;
        k = lineStart && depth == 0 ? Tok::At : Tok::MatMul;
        break;
      }
      default: {
        // As it is: formatDiag escapes a control byte in the message (and in the quoted line) as \xNN.
        fail(src, SrcLoc{line, startCol, 1}, fmt::format("unexpected character '{}'", std::string(1, c)));
      }
    }
    i += n, col += static_cast<int>(n);
    out.push_back(Token{k, s.substr(begin, n), SrcLoc{line, startCol, static_cast<int>(n)}});
  }
  if (!out.empty() && out.back().kind != Tok::Newline)
    out.push_back(Token{Tok::Newline, "\\n", SrcLoc{line, col, 1}});
  out.push_back(Token{Tok::End, "", SrcLoc{line, col, 1}});
  return out;
}

}  // namespace netc
