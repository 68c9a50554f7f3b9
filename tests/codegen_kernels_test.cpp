// The CPU backend's kernel table (codegen/kernels/cpu_kernels.cpp) against the op registry: every Kernel-class
// op has exactly one line, and every line is a registered Kernel-class op.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "codegen/kernels/cpu_kernels.h"
#include "codegen/kernels/emitters.h"
#include "ops/op.h"

using namespace netc;

TEST_CASE("cpu kernels: every Kernel-class op has a CPU kernel, every other op has none") {
  int kernelOps = 0;
  for (const OpDef* op : allOps()) {
    INFO("op ", op->name);
    const codegen::CpuKernel* k = codegen::findCpuKernel(*op);
    if (op->cls != OpDef::Kernel) {
      CHECK(k == nullptr);
      continue;
    }
    ++kernelOps;
    REQUIRE(k != nullptr);
    CHECK(std::string(k->op) == op->name);
    // An emitter, or the reason there is none; never both, never neither.
    CHECK((k->emit != nullptr) != (k->noKernel != nullptr));
    CHECK(codegen::hasCpuKernel(*op) == (k->emit != nullptr));
    // Thread-schedule facts only for ops that have a kernel to split.
    if (!k->emit) CHECK((k->partialBytes == nullptr && !k->sharesRows));
  }
  CHECK(kernelOps == static_cast<int>(codegen::cpuKernels().size()));
}

TEST_CASE("cpu kernels: every line of the table names a registered Kernel-class op, once") {
  std::map<std::string, int> lines;
  for (const codegen::CpuKernel& k : codegen::cpuKernels()) {
    INFO("table line ", k.op);
    ++lines[k.op];
    const OpDef* op = findOp(k.op);
    REQUIRE(op != nullptr);
    CHECK(op->cls == OpDef::Kernel);
    CHECK(codegen::findCpuKernel(*op) == &k);
  }
  for (const auto& [name, count] : lines) {
    INFO("table line ", name);
    CHECK(count == 1);
  }
}

TEST_CASE("cpu kernels: asking for the emitter of an op without one is an internal error naming the op") {
  CHECK_THROWS_WITH(codegen::cpuKernelEmitter(getOp("add")), doctest::Contains("'add' has no code generator"));
  CHECK_THROWS_WITH(codegen::cpuKernelEmitter(getOp("reshape")), doctest::Contains("'reshape' has no code generator"));
  CHECK((codegen::cpuKernelEmitter(getOp("matmul")) == &codegen::emitMatmul));
}
