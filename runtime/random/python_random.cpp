#include "runtime/random/python_random.h"

#include <bit>
#include <fmt/format.h>

#include "support/diag.h"

namespace netc {

PythonRandom::PythonRandom(uint64_t n) {
  uint32_t key[2] = {static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32)};
  mt_.initByArray(key, key[1] != 0 ? 2 : 1);
}

uint32_t PythonRandom::getrandbits(int k) { return mt_.next() >> (32 - k); }

uint32_t PythonRandom::randbelow(uint64_t n) {
  // Beyond 32 bits CPython concatenates several draws; no word list gets near 4 billion entries.
  if (n == 0 || n > UINT32_MAX) fail(fmt::format("internal error: randbelow({}) is outside [1, 2^32)", n));
  const int k = std::bit_width(n);  // n.bit_length(), not (n-1)'s: n may be 1
  uint32_t r = getrandbits(k);
  while (r >= n) r = getrandbits(k);
  return r;
}

void PythonRandom::shuffle(std::vector<std::string>& x) {
  for (size_t i = x.size(); i-- > 1;) std::swap(x[i], x[randbelow(i + 1)]);
}

}  // namespace netc
