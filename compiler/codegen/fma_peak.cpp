#include "codegen/fma_peak.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/TargetParser/Host.h>

#include "codegen/jit.h"

namespace netc::codegen {

namespace {

constexpr int kChains = 10;  // > latency (4-5 cycles) x FMA units (2): every unit busy every cycle

// void netc_step(ptr arena): arena[0] (i64) is the trip count; the chains start from arena[64..], and their sum
// goes back there, so nothing can be folded away.
std::vector<StepModule> peakModule(const HostTarget& host, unsigned lanes) {
  StepModule sm{std::make_unique<llvm::LLVMContext>(), nullptr};
  sm.module = std::make_unique<llvm::Module>("netc.peak", *sm.ctx);
  sm.module->setTargetTriple(host.info().triple);
  sm.module->setDataLayout(host.info().dataLayout);
  llvm::IRBuilder<> b(*sm.ctx);
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(b.getVoidTy(), {b.getPtrTy()}, false),
                                    llvm::Function::ExternalLinkage, kStepFunction, *sm.module);
  if (lanes >= 16) fn->addFnAttr("prefer-vector-width", "512");
  llvm::Value* arena = fn->getArg(0);
  auto* entry = llvm::BasicBlock::Create(*sm.ctx, "entry", fn);
  auto* body = llvm::BasicBlock::Create(*sm.ctx, "fma", fn);
  auto* done = llvm::BasicBlock::Create(*sm.ctx, "done", fn);
  b.SetInsertPoint(entry);
  llvm::Type* vt = llvm::FixedVectorType::get(b.getFloatTy(), lanes);
  llvm::Value* n = b.CreateLoad(b.getInt64Ty(), arena);
  llvm::Value* data = b.CreateGEP(b.getInt8Ty(), arena, b.getInt64(64));
  std::vector<llvm::Value*> start;
  for (int c = 0; c < kChains; ++c) start.push_back(b.CreateAlignedLoad(vt, b.CreateGEP(vt, data, b.getInt64(c)), llvm::Align(4)));
  llvm::Value* x = b.CreateVectorSplat(lanes, llvm::ConstantFP::get(b.getFloatTy(), 0.999999));
  llvm::Value* y = b.CreateVectorSplat(lanes, llvm::ConstantFP::get(b.getFloatTy(), 1e-7));
  b.CreateBr(body);
  b.SetInsertPoint(body);
  llvm::PHINode* i = b.CreatePHI(b.getInt64Ty(), 2, "i");
  i->addIncoming(b.getInt64(0), entry);
  std::vector<llvm::PHINode*> acc;
  std::vector<llvm::Value*> next;
  for (int c = 0; c < kChains; ++c) {
    acc.push_back(b.CreatePHI(vt, 2));
    acc.back()->addIncoming(start[c], entry);
  }
  // Four multiply-adds per chain and trip keep the loop's own instructions out of the way.
  for (int c = 0; c < kChains; ++c) {
    llvm::Value* v = acc[c];
    for (int u = 0; u < 4; ++u) v = b.CreateIntrinsic(llvm::Intrinsic::fmuladd, {vt}, {v, x, y});
    next.push_back(v);
    acc[c]->addIncoming(v, body);
  }
  llvm::Value* inext = b.CreateAdd(i, b.getInt64(1));
  i->addIncoming(inext, body);
  b.CreateCondBr(b.CreateICmpULT(inext, n), body, done);
  b.SetInsertPoint(done);
  llvm::Value* sum = next[0];
  for (int c = 1; c < kChains; ++c) sum = b.CreateFAdd(sum, next[c]);
  b.CreateAlignedStore(sum, data, llvm::Align(4));
  b.CreateRetVoid();
  std::vector<StepModule> out;
  out.push_back(std::move(sm));
  return out;
}

}  // namespace

FmaPeak measureFmaPeak(double millis) {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  FmaPeak peak;
  peak.vectorBits = features.lookup("avx512f") ? 512 : features.lookup("avx") ? 256 : 128;
  CodegenOptions opts;
  opts.vectorBits = peak.vectorBits;
  HostTarget host(opts);
  const unsigned lanes = peak.vectorBits / 32;
  CompiledStep code(peakModule(host, lanes), 1);
  alignas(64) unsigned char arena[64 + 64 * kChains] = {};
  const int64_t trips = 250000;  // 40 M multiply-adds per lane group: a few milliseconds
  std::memcpy(arena, &trips, sizeof trips);
  using Clock = std::chrono::steady_clock;
  auto begin = Clock::now();
  do {
    auto t0 = Clock::now();
    code.step()(arena, 0, nullptr, nullptr);  // the extra arguments of a step are ignored here
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    double flops = 2.0 * 4 * kChains * lanes * static_cast<double>(trips);
    peak.gflops = std::max(peak.gflops, flops / s / 1e9);
  } while (std::chrono::duration<double, std::milli>(Clock::now() - begin).count() < millis);
  return peak;
}

}  // namespace netc::codegen
