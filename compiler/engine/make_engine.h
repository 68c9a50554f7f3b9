// The engine for a batch-bound graph, chosen at run time: the reference interpreter (core) or the LLVM JIT
// (this backend). It lives in the backend because only the backend can build both.
#pragma once
#include <memory>

#include "interp/engine.h"

namespace netc {

// `threads` is the JIT's thread team (codegen::chooseThreads: 0 picks by the graph's size); the interpreter has
// one thread.
std::unique_ptr<Engine> makeEngine(const Graph& bound, EngineKind kind, int threads = 1);

}  // namespace netc
