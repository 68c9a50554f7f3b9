// Shapes: concrete dimensions, with the batch dimension B left symbolic until a batch size is bound.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace netc {

// A dimension is a positive size, or a whole multiple k·B of the symbolic batch dimension B, stored as -k:
// kBatch (-1) is B itself, -4 is B*4 (a [B, T, C] value reshaped to [B*T, C] with T = 4). At most one dimension
// of a shape involves B.
constexpr int64_t kBatch = -1;  // the symbolic batch dimension B
using Shape = std::vector<int64_t>;

inline bool isBatchDim(int64_t d) { return d < 0; }
inline int64_t batchFactor(int64_t d) { return -d; }  // k of a dimension k·B (isBatchDim(d))
inline int64_t batchTimes(int64_t k) { return -k; }   // the dimension k·B

enum class DType { F32, I32 };
const char* dtypeName(DType t);

std::string shapeStr(const Shape& s);            // "[B,30]", "[B*4,30]"
std::string dimStr(int64_t d);                   // "30", "B", "B*4"
int64_t numel(const Shape& s);                   // requires a concrete shape
// The elements per batch row: the product of the sizes, a dimension k·B counting k (numel of a shape without B).
int64_t perBatchNumel(const Shape& s);
Shape bindBatch(const Shape& s, int64_t batch);  // replaces k·B by k times a concrete size (checked)
bool hasBatch(const Shape& s);

// Numpy-style right-aligned broadcasting; returns false when the shapes do not broadcast.
bool broadcastShapes(const Shape& a, const Shape& b, Shape& out);

}  // namespace netc
