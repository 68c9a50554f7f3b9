// Exact whole numbers for the constant folder. A double holds every integer only up to 2^53, but settings such
// as seeds take any value in 0..2^64-1 (2^53 + 1 and 2^64 - 1 are not doubles): integer literals, and what +,
// -, *, /, ** and abs/min/max make of them, are also kept exactly in 127 bits, and whole-number settings read
// that exact value (compiler/lower/lower.cpp, Folded).
#pragma once
#include <optional>
#include <string_view>

namespace netc {

using Whole = __int128;

// The value of a string of decimal digits, or nullopt when it has none, has another character, or does not
// fit.
std::optional<Whole> parseWhole(std::string_view digits);

// The exact results, or nullopt when the result is not a whole number (a / b with a remainder, a ** b with
// b < 0) or does not fit in a Whole.
std::optional<Whole> wholeAdd(Whole a, Whole b);
std::optional<Whole> wholeSub(Whole a, Whole b);
std::optional<Whole> wholeMul(Whole a, Whole b);
std::optional<Whole> wholeDiv(Whole a, Whole b);
std::optional<Whole> wholePow(Whole a, Whole b);
std::optional<Whole> wholeNeg(Whole a);

}  // namespace netc
