// A key of everything a training step's LLVM modules are made from: the graph (every field of every node),
// the code generation options, the target, the number of modules, and the identity of this netc build (its
// GNU build id, so a rebuilt compiler never reuses another build's code). The object cache (object_cache.h)
// keeps, under this key, the list of the object files the modules compiled to, so compiling the same model
// again skips building and hashing the IR as well as optimising it: only linking is left.
#pragma once
#include <string>

#include "codegen/module_builder.h"
#include "graph/graph.h"

namespace netc::codegen {

// 32 hex digits; "" when this build has no build id (the step is then compiled, and cached per module only).
std::string stepCacheKey(const Graph& g, const CodegenOptions& opts, const TargetInfo& target, int modules);

// The running program's GNU build id in hex, "" when it has none.
const std::string& programBuildId();

}  // namespace netc::codegen
