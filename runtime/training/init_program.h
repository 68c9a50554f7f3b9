// One initialiser evaluated for a tensor of n elements: its program (graph.h, InitOp) run over whole tensors,
// with netc's generator in double precision or with PyTorch's in float32 as a script would compute it.
#pragma once
#include <cstdint>
#include <vector>

#include "graph/graph.h"
#include "runtime/random/rng.h"
#include "runtime/random/torch_generator.h"

namespace netc {

// netc's generator, in double: each draw fills the tensor in order (randn: rng.normal(); normal(m, s): m + s *
// normal(); uniform(a, b): a + (b - a) * uniform()). A run of products and quotients by constants is folded into
// one factor before it multiplies the tensor, so `randn * (5/3) / sqrt(30)` is each draw times the folded scale,
// as netc has always initialised.
std::vector<double> evalInitNetc(const InitSpec& init, int64_t n, Rng& rng);

// PyTorch's generator, in float32: every operation as PyTorch does it, in the order written, each rounded to
// float (`torch.randn(n, generator=g) * 0.1 + 1.0`): randn is torch.randn, normal(m, s) tensor.normal_(m, s),
// uniform(a, b) tensor.uniform_(a, b); zeros and ones draw nothing; a constant is rounded to float where it
// meets a tensor, as a Python number is.
std::vector<float> evalInitTorch(const InitSpec& init, int64_t n, TorchGenerator& gen);

// The program of an initialiser the compiler made without one (the optimizer's moments): its summary's
// distribution and steps.
std::vector<InitOp> initProgramOf(const InitSpec& init);

}  // namespace netc
