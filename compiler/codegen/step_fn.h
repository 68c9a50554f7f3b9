// The signature of the compiled step (netc_step, module_builder.h), shared by the JIT and the thread team.
#pragma once
#include <cstdint>

namespace netc::codegen {

// The arena, the thread's number, and the team's barrier with its argument (null with one thread).
using BarrierFn = void (*)(void* team);
using StepFn = void (*)(void* arena, int64_t thread, BarrierFn barrier, void* team);

}  // namespace netc::codegen
