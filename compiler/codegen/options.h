// Knobs of code generation; the defaults are what `netc` uses.
#pragma once
#include "codegen/plan.h"

namespace netc::codegen {

struct CodegenOptions {
  PlanOptions plan;
  bool tiledMatmul = true;  // register-tiled products; false: plain triple loops (a baseline for tests)
  // Widest vectors to use, in bits (128, 256 or 512): 0 picks the host's widest (512 with AVX-512, 256 with
  // AVX2, else 128).
  unsigned vectorBits = 0;
  // Threads optimising and compiling the kernels' modules in parallel; 0: one per hardware thread.
  unsigned compileThreads = 0;
  // Store narrow output-layer weights transposed (codegen/layout.h); false keeps every value as declared.
  bool transposeNarrowParams = true;
  // With a thread team (plan.threads > 1): now and then time the team against one thread running the same
  // code alone and run the faster (codegen/team.h); false: always the team (netc bench --threads, tests).
  bool adaptiveTeam = true;
};

}  // namespace netc::codegen
