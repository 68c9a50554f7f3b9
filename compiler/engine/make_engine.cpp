#include "engine/make_engine.h"

#include "engine/jit_engine.h"
#include "interp/interpreter.h"

namespace netc {

std::unique_ptr<Engine> makeEngine(const Graph& bound, EngineKind kind, int threads) {
  if (kind == EngineKind::Jit) {
    codegen::CodegenOptions opts;
    opts.plan.threads = codegen::chooseThreads(bound, threads);
    opts.adaptiveTeam = threads <= 0;  // a thread count asked for is what runs
    return std::make_unique<JitEngine>(bound, opts);
  }
  return std::make_unique<Interpreter>(bound);
}

}  // namespace netc
