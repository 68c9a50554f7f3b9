#include "codegen/jit_engine.h"
#include "interp/engine.h"
#include "interp/interpreter.h"

namespace netc {

std::unique_ptr<Engine> makeEngine(const Graph& bound, EngineKind kind) {
  if (kind == EngineKind::Jit) return std::make_unique<JitEngine>(bound);
  return std::make_unique<Interpreter>(bound);
}

}  // namespace netc
