#include "support/whole.h"

namespace netc {

std::optional<Whole> parseWhole(std::string_view digits) {
  if (digits.empty()) return std::nullopt;
  Whole v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(v, Whole{10}, &v) || __builtin_add_overflow(v, Whole{c - '0'}, &v)) return std::nullopt;
  }
  return v;
}

std::optional<Whole> wholeAdd(Whole a, Whole b) {
  Whole r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<Whole> wholeSub(Whole a, Whole b) {
  Whole r;
  if (__builtin_sub_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<Whole> wholeMul(Whole a, Whole b) {
  Whole r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

std::optional<Whole> wholeDiv(Whole a, Whole b) {
  if (b == 0 || (b == -1 && !wholeNeg(a))) return std::nullopt;
  if (a % b != 0) return std::nullopt;
  return a / b;
}

std::optional<Whole> wholePow(Whole a, Whole b) {
  if (b < 0) return std::nullopt;
  Whole r = 1;
  // Square and multiply; |a| >= 2 overflows within 127 squarings, so the loop is short.
  while (b > 0) {
    if (b & 1) {
      auto m = wholeMul(r, a);
      if (!m) return std::nullopt;
      r = *m;
    }
    b >>= 1;
    if (b > 0) {
      auto sq = wholeMul(a, a);
      if (!sq) return std::nullopt;
      a = *sq;
    }
  }
  return r;
}

std::optional<Whole> wholeNeg(Whole a) { return wholeSub(0, a); }

}  // namespace netc
