// The floating-point peak of one core, measured by running JIT-compiled code: the yardstick `netc bench`
// reports the training step against, taken on the same machine in the same run (on shared or virtual machines
// the clock and the neighbours change from minute to minute, so a figure from a data sheet would mislead).
#pragma once

namespace netc::codegen {

struct FmaPeak {
  unsigned vectorBits = 0;  // the widest vectors this CPU runs natively
  double gflops = 0;        // best of several timed runs, counting a multiply-add as two operations
};

// Independent chains of vector multiply-adds (enough of them to cover the FMA latency on every x86 core),
// compiled through the same LLVM pipeline as the training step. Takes about `millis` milliseconds.
FmaPeak measureFmaPeak(double millis = 60);

}  // namespace netc::codegen
