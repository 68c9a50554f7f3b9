// Knobs of code generation; the defaults are what `netc` uses.
#pragma once
#include "codegen/plan.h"

namespace netc::codegen {

struct CodegenOptions {
  PlanOptions plan;
  bool tiledMatmul = true;  // register-tiled products; false: plain triple loops (a baseline for tests)
  // Widest vectors to use, in bits (128, 256 or 512): 0 picks the host's default (256 with AVX2; with
  // AVX-512, 512 is used only when asked for, since LLVM's cost model prefers 256-bit vectors there).
  unsigned vectorBits = 0;
  // Threads optimising and compiling the kernels' modules in parallel; 0: one per hardware thread.
  unsigned compileThreads = 0;
  // Store narrow output-layer weights transposed (codegen/layout.h); false keeps every value as declared.
  bool transposeNarrowParams = true;
};

}  // namespace netc::codegen
