// What the lowering and the permute kernel share of ops/permute.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace netc::ops {

// "" when axes is a permutation of 0..rank-1, else what is wrong with it.
std::string permutationProblem(const std::vector<int64_t>& axes, size_t rank);
// The permutation that undoes axes (the gradient's).
std::vector<int64_t> inversePermutation(const std::vector<int64_t>& axes);

}  // namespace netc::ops
