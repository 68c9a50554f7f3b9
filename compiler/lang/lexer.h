// Tokens of the .net language. Newlines are tokens: one statement per line.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "support/diag.h"
#include "support/whole.h"

namespace netc {

enum class Tok {
  Ident, Number, String, Newline, End,
  Assign, Colon, Comma, LParen, RParen, LBrack, RBrack, LBrace, RBrace, At,
  DotDot, Dot /* the '.' between the parts of a block instance's path, layers.0.W */, Plus, Minus, Star, Slash, Power, MatMul /* '@' inside expressions is MatMul; At at line start */,
};

struct Token {
  Tok kind;
  std::string text;
  SrcLoc loc;
  double number = 0;
  bool isInteger = false;  // literal written without '.' or exponent
  std::optional<Whole> whole;  // its exact value (support/whole.h), when isInteger and it fits
};

const char* tokName(Tok t);
std::vector<Token> lex(const SourceRef& src);

}  // namespace netc
