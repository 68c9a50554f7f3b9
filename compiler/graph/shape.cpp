#include "graph/shape.h"

#include <algorithm>
#include <fmt/format.h>

#include "support/diag.h"
#include "support/sizes.h"

namespace netc {

const char* dtypeName(DType t) { return t == DType::F32 ? "f32" : "i32"; }

std::string dimStr(int64_t d) {
  if (!isBatchDim(d)) return std::to_string(d);
  return d == kBatch ? std::string("B") : "B*" + std::to_string(batchFactor(d));
}

std::string shapeStr(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ",";
    out += dimStr(s[i]);
  }
  return out + "]";
}

int64_t perBatchNumel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s)
    n = checkedMul(n, isBatchDim(d) ? batchFactor(d) : d, fmt::format("the element count of shape {}", shapeStr(s)));
  return n;
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) fail(fmt::format("internal error: the element count of {} needs the batch size bound", shapeStr(s)));
    n = checkedMul(n, d, fmt::format("the element count of shape {}", shapeStr(s)));
  }
  return n;
}

Shape bindBatch(const Shape& s, int64_t batch) {
  Shape out = s;
  for (auto& d : out)
    if (isBatchDim(d)) d = checkedMul(batchFactor(d), batch, fmt::format("dimension {} of shape {}", dimStr(d), shapeStr(s)));
  return out;
}

bool hasBatch(const Shape& s) { return std::any_of(s.begin(), s.end(), isBatchDim); }

bool broadcastShapes(const Shape& a, const Shape& b, Shape& out) {
  size_t n = std::max(a.size(), b.size());
  out.assign(n, 1);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da == db) out[i] = da;
    else if (da == 1) out[i] = db;
    else if (db == 1) out[i] = da;
    else return false;
  }
  return true;
}

}  // namespace netc
