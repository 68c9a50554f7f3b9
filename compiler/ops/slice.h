// Shared by slice, pad_slice and concat: a value seen as [outer, K, inner] around one axis, and the copy of
// a run of that axis between a big buffer and a small one.
#pragma once
#include "ops/op.h"

namespace netc::ops {

struct AxisRun {
  int64_t outer = 1, K = 1, inner = 1;
};
AxisRun axisRun(const Shape& s, int64_t axis);

// dst[o, j, i] = src[o, start + j, i] for j < len (toBig: the other way round), where `big` is the shape of
// the value whose axis has K >= len elements.
void emitRunCopy(KernelEmitter& k, int dst, int src, const Shape& big, int64_t axis, int64_t start, int64_t len,
                 bool toBig);

}  // namespace netc::ops
