// Shapes: concrete dimensions, with the batch dimension B left symbolic until a batch size is bound.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace netc {

constexpr int64_t kBatch = -1;  // the symbolic batch dimension B
using Shape = std::vector<int64_t>;

enum class DType { F32, I32 };
const char* dtypeName(DType t);

std::string shapeStr(const Shape& s);            // "[B,30]"
int64_t numel(const Shape& s);                   // requires a concrete shape
Shape bindBatch(const Shape& s, int64_t batch);  // replaces B by a concrete size
bool hasBatch(const Shape& s);

// Numpy-style right-aligned broadcasting; returns false when the shapes do not broadcast.
bool broadcastShapes(const Shape& a, const Shape& b, Shape& out);

}  // namespace netc
