// PyTorch's CPU generator, `torch.Generator().manual_seed(seed)`, and the two draws the lecture makes from it,
// torch.randn(shape) for float32 tensors and torch.randint(0, n, shape), reproduced to the bit (torch 1.13 and
// 2.x agree for these; tests/streams_test.cpp pins them against tools/torch_streams.py).
//
// What PyTorch does (aten/src/ATen/core/MT19937RNGEngine.h, CPUGeneratorImpl.cpp, core/DistributionsHelper.h,
// native/cpu/DistributionTemplates.h, native/cpu/avx_mathfun.h):
//  - the engine is mt19937 seeded by init_genrand with the seed's low 32 bits; random() is one 32-bit draw,
//    random64() two, the first one the high half;
//  - randn of a contiguous float tensor with numel >= 16 (normal_fill): one uniform float per element,
//    (random() & 0xffffff) * 2^-24, then Box-Muller on blocks of 16, element j and j + 8 giving the cosine and
//    the sine; a size that is not a multiple of 16 draws 16 fresh uniforms for the last 16 elements and
//    recomputes them (the tail overlaps the last full block). On x86-64 PyTorch uses the AVX2 kernel with the
//    Cephes polynomials of avx_mathfun.h (log256_ps, sincos256_ps); elsewhere (ARM, ATEN_CPU_CAPABILITY=default)
//    the scalar kernel with libm's logf, cosf and sinf. The two differ in the last bits.
//  - randn with numel < 16: per element, normal_distribution<double> (two random64() uniforms, 53 bits each,
//    Box-Muller in double), cast to float. Its second value (the sine) is cached IN THE GENERATOR and is the
//    next small randn's first element, across calls; normal_fill neither reads nor clears that cache.
//  - normal_(mean, std) is the same kernel with mean and std (rounded to float) applied as each value is made:
//    an FMA `n * std + mean` in the AVX2 kernel, a float multiply then add in the scalar one, and in double
//    before the cast to float for fewer than 16 elements;
//  - uniform_(from, to) of a float tensor (DistributionTemplates.h's uniform_kernel, TransformationHelper.h's
//    uniform_real): from and to rounded to float, then per element x = (random() & 0xffffff) * 2^-24 and
//    x * (to - from) + from, all in float (dist_acctype<float> is float), contracted to one FMA by GCC in
//    the AVX2 build (-mfma) that x86-64 PyTorch runs;
//  - randint(0, n): random() % n per element (random64() % n when n >= 2^32).
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/random/mt19937.h"

namespace netc {

class TorchGenerator {
 public:
  enum class Kernel { Avx2, Scalar };  // normal_fill's two implementations (see above)

  explicit TorchGenerator(uint64_t seed, Kernel kernel = Kernel::Avx2);

  uint32_t random() { return mt_.next(); }
  uint64_t random64() {
    uint64_t hi = mt_.next();
    return hi << 32 | mt_.next();
  }

  // torch.randn(n) (any shape with n elements), float32: normal(n, 0, 1).
  std::vector<float> randn(int64_t n) { return normal(n, 0.0, 1.0); }
  // tensor.normal_(mean, std) of n float32 elements (nn.init.normal_, torch.normal(mean, std, size)): the
  // same draws as randn, with mean and std applied inside the kernel (see torch_generator.cpp), not after.
  std::vector<float> normal(int64_t n, double mean, double std);
  // tensor.uniform_(from, to) of n float32 elements (nn.init.uniform_, nn.Linear's default init): one
  // random() per element, in order.
  std::vector<float> uniform(int64_t n, double from, double to);
  // One element of torch.randint(0, n, shape), n >= 1: shape's elements are drawn one after another.
  int64_t randint(uint64_t n) { return static_cast<int64_t>(n >= (uint64_t{1} << 32) ? random64() % n : random() % n); }

 private:
  float uniformFloat() { return static_cast<float>(random() & 0xffffffu) * 0x1.0p-24f; }
  double uniformDouble() { return static_cast<double>(random64() & ((uint64_t{1} << 53) - 1)) * 0x1.0p-53; }
  double normalDouble();
  void normalFill16(float* data, float mean, float std) const;

  Mt19937 mt_;
  Kernel kernel_;
  std::optional<double> nextDoubleNormal_;  // CPUGeneratorImpl's next_double_normal_sample
};

}  // namespace netc
