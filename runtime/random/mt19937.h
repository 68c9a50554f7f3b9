// The 32-bit Mersenne Twister (Matsumoto and Nishimura's mt19937ar.c), the engine under both CPython's
// `random` and PyTorch's CPU generator. The two differ only in how they seed it: CPython always uses
// init_by_array (the integer seed split into 32-bit words), PyTorch init_genrand with the seed's low 32 bits.
// Written out here, not std::mt19937, so that both seedings are available and the state is plain data.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

namespace netc {

class Mt19937 {
 public:
  static constexpr int N = 624, M = 397;

  Mt19937() { initGenrand(5489u); }  // mt19937ar.c's default seed

  void initGenrand(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < N; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
    mti_ = N;  // the first draw regenerates the whole state, as mt19937ar.c and PyTorch's next_state do
  }

  void initByArray(const uint32_t* key, size_t length) {
    initGenrand(19650218u);
    int i = 1;
    size_t j = 0;
    for (size_t k = N > length ? N : length; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + static_cast<uint32_t>(j);
      ++i, ++j;
      if (i >= N) mt_[0] = mt_[N - 1], i = 1;
      if (j >= length) j = 0;
    }
    for (int k = N - 1; k; --k) {
      mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - static_cast<uint32_t>(i);
      ++i;
      if (i >= N) mt_[0] = mt_[N - 1], i = 1;
    }
    mt_[0] = 0x80000000u;  // a non-zero state
  }

  uint32_t next() {
    if (mti_ >= N) twist();
    uint32_t y = mt_[mti_++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
  }

 private:
  void twist() {
    auto mix = [](uint32_t a, uint32_t b, uint32_t far) {
      uint32_t y = (a & 0x80000000u) | (b & 0x7fffffffu);
      return far ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    };
    int k = 0;
    for (; k < N - M; ++k) mt_[k] = mix(mt_[k], mt_[k + 1], mt_[k + M]);
    for (; k < N - 1; ++k) mt_[k] = mix(mt_[k], mt_[k + 1], mt_[k + M - N]);
    mt_[N - 1] = mix(mt_[N - 1], mt_[0], mt_[M - 1]);
    mti_ = 0;
  }

  std::array<uint32_t, N> mt_{};
  int mti_ = N;
};

}  // namespace netc
