// Shared by slice, pad_slice and concat (and their CPU kernels, codegen/kernels/copies.cpp): a value seen as
// [outer, K, inner] around one axis.
#pragma once
#include "ops/op.h"

namespace netc::ops {

struct AxisRun {
  int64_t outer = 1, K = 1, inner = 1;
};
AxisRun axisRun(const Shape& s, int64_t axis);

}  // namespace netc::ops
