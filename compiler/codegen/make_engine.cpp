#include "interp/engine.h"
#include "interp/interpreter.h"

namespace netc {

// Until the JIT lands, every engine is the interpreter.
std::unique_ptr<Engine> makeEngine(const Graph& bound, EngineKind kind) {
  return std::make_unique<Interpreter>(bound);
}

}  // namespace netc
