// CPython 3's `random` module, as far as makemore uses it: random.seed(int) and random.shuffle(list), so that
// `shuffle = python` splits the words exactly as the lecture's `random.seed(42); random.shuffle(words)`.
// (Modules/_randommodule.c: random_seed, getrandbits; Lib/random.py: shuffle, _randbelow_with_getrandbits.)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/random/mt19937.h"

namespace netc {

class PythonRandom {
 public:
  // random.seed(seed) for a seed in 0..2^64-1 (netc's seeds): split into 32-bit words, least significant
  // first, fed to init_by_array (0 is one zero word). Unsigned, so seeds past 2^63 keep their stream (random.seed
  // of a negative number would use its magnitude, another stream).
  explicit PythonRandom(uint64_t seed);
  // random.getrandbits(k) for 1 <= k <= 32: the top k bits of one draw.
  uint32_t getrandbits(int k);
  // random._randbelow(n) for 1 <= n < 2^32: getrandbits(n.bit_length()) until below n (rejection, unbiased).
  uint32_t randbelow(uint64_t n);
  // random.shuffle(x): for i from len-1 down to 1, swap x[i] with x[randbelow(i + 1)].
  void shuffle(std::vector<std::string>& x);

 private:
  Mt19937 mt_;
};

}  // namespace netc
