#include "runtime/data/batch_feed.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fmt/format.h>

#include "ops/op.h"
#include "runtime/random/rng.h"

namespace netc {

namespace {

// Follows an index value through layout-only ops to the ops that use it as an index.
void bound(const Graph& g, int id, int64_t& limit) {
  for (const Node& n : g.nodes)
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      if (n.inputs[k] != id) continue;
      int64_t here = static_cast<int>(k) == n.op->indexBound.input ? indexLimit(g, n) : -1;
      if (n.op->keepsElements) bound(g, n.id, limit);
      if (here >= 0 && (limit < 0 || here < limit)) limit = here;
    }
}

}  // namespace

int64_t indexBound(const Graph& g, int input) {
  int64_t limit = -1;
  bound(g, input, limit);
  return limit;
}

int64_t batchSizeOf(const Graph& g, const WeightMap& batch, const std::string& what) {
  std::vector<std::string> names;
  for (int id : g.inputs()) names.push_back(g[id].name);
  for (const auto& [name, t] : batch)
    if (std::find(names.begin(), names.end(), name) == names.end())
      fail(fmt::format("{}: tensor '{}' is not an input of the model{}", what, name, didYouMean(name, names)));
  int64_t B = -1;
  std::string from;
  for (int id : g.inputs()) {
    const Node& n = g[id];
    auto it = batch.find(n.name);
    if (it == batch.end()) fail(fmt::format("{}: input '{}' is missing (the model declares it {})", what, n.name, shapeStr(n.shape)));
    const Shape& s = it->second.shape;
    bool fits = s.size() == n.shape.size();
    for (size_t k = 0; fits && k < s.size(); ++k) {
      if (!isBatchDim(n.shape[k])) fits = s[k] == n.shape[k];
      else if (B < 0) B = s[k], from = n.name;
      else if (s[k] != B)
        fail(fmt::format("{}: input '{}' has batch size {}, but '{}' has {}", what, n.name, s[k], from, B));
    }
    if (!fits)
      fail(fmt::format("{}: input '{}' has shape {}, but the model declares {}", what, n.name, shapeStr(s),
                       shapeStr(n.shape)));
  }
  if (B == 0) fail(fmt::format("{}: the batch is empty (B = 0)", what));
  return B < 0 ? 1 : B;
}

void feedBatch(Engine& e, const WeightMap& batch, const std::string& what, int skip) {
  const Graph& g = e.graph();
  for (int id : g.inputs()) {
    if (id == skip) continue;
    const Node& n = g[id];
    auto it = batch.find(n.name);
    if (it == batch.end()) fail(fmt::format("{}: input '{}' is missing", what, n.name));
    const NamedTensor& t = it->second;
    if (t.shape != n.shape)
      fail(fmt::format("{}: input '{}' has shape {}, but the model expects {}", what, n.name, shapeStr(t.shape),
                       shapeStr(n.shape)));
    if (n.dtype == DType::F32) {
      e.write(id, t.data);
      continue;
    }
    // A compiled engine trusts its indices; an out-of-range one must be stopped here, not become a wild read.
    int64_t limit = indexBound(g, id);
    int64_t ignored = 0;  // a target value a cross_entropy(..., ignore_index=K) skips is allowed
    for (const Node& c : g.nodes)
      if (c.op->indexBound.ignoredValueInAttr0 && !c.attrs.ints.empty() && c.inputs[c.op->indexBound.input] == id)
        ignored = c.attrs.ints[0];
    std::vector<int32_t> idx(t.data.size());
    for (size_t i = 0; i < t.data.size(); ++i) {
      double v = t.data[i];
      if (v == static_cast<double>(ignored)) {
        idx[i] = static_cast<int32_t>(v);
        continue;
      }
      if (v != std::floor(v) || v < 0 || (limit >= 0 && v >= static_cast<double>(limit)) || v > INT32_MAX)
        fail(fmt::format("{}: input '{}' holds {} at position {}; indices must be whole numbers in [0, {})", what,
                         n.name, v, i, limit >= 0 ? std::to_string(limit) : "2^31"));
      idx[i] = static_cast<int32_t>(v);
    }
    e.writeIndices(id, idx);
  }
}

WeightMap randomBatch(const Graph& g, uint64_t seed, int skip) {
  Rng rng(seed);
  WeightMap out;
  for (int id : g.inputs()) {
    if (id == skip) continue;
    const Node& n = g[id];
    NamedTensor t{n.shape, std::vector<double>(numel(n.shape))};
    int64_t limit = n.dtype == DType::I32 ? std::max<int64_t>(indexBound(g, id), 1) : 0;
    for (double& v : t.data) v = n.dtype == DType::I32 ? static_cast<double>(rng.below(limit)) : rng.normal();
    out[n.name] = std::move(t);
  }
  return out;
}

}  // namespace netc
