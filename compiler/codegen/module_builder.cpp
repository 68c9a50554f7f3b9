#include "codegen/module_builder.h"

#include <algorithm>
#include <fmt/format.h>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/gemm.h"
#include "codegen/kernel_emitter.h"
#include "ops/op.h"

namespace netc::codegen {

namespace {

bool isConst(const Node& n) { return n.op->name == std::string_view("const"); }

// The buffers (storage nodes) a kernel reads or writes, each once, in first-use order. Constants read by the
// elementwise members are folded into the code and need no buffer.
std::vector<int> kernelBuffers(const Graph& g, const Plan& p, const Kernel& k) {
  std::vector<int> out;
  auto use = [&](int node) {
    int s = p.storage[node];
    if (s >= 0 && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  if (k.root >= 0) {
    for (int in : g[k.root].inputs) use(in);
    use(k.root);
  }
  for (int m : k.members) {
    for (int in : g[m].inputs)
      if (p.kernelOf[in] != p.kernelOf[m] && !isConst(g[in])) use(in);
    use(m);
  }
  return out;
}

int64_t kernelScratch(const Graph& g, const Kernel& k) {
  return k.kind == Kernel::Op && g[k.root].op->name == std::string_view("matmul") ? matmulScratchBytes(g, g[k.root])
                                                                                    : 0;
}

class Builder {
 public:
  Builder(const Graph& g, const Plan& p, const CodegenOptions& o, const TargetInfo& t)
      : g_(g), p_(p), opts_(o), target_(t), ctx_(std::make_unique<llvm::LLVMContext>()),
        mod_(std::make_unique<llvm::Module>("netc", *ctx_)), b_(*ctx_) {}

  StepModule run() {
    mod_->setTargetTriple(target_.triple);
    mod_->setDataLayout(target_.dataLayout);
    std::vector<llvm::Function*> fns;
    for (const Kernel& k : p_.kernels) fns.push_back(kernelFunction(k));
    stepFunction(fns);
    std::string err;
    llvm::raw_string_ostream os(err);
    if (llvm::verifyModule(*mod_, &os)) fail(fmt::format("internal error: generated LLVM IR is invalid:\n{}", err));
    return {std::move(ctx_), std::move(mod_)};
  }

 private:
  void setFunctionAttrs(llvm::Function* f) {
    f->addFnAttr(llvm::Attribute::NoUnwind);
    // Divisions marked `arcp` (fast_math's reciprocal) may use the hardware estimate plus one Newton step.
    f->addFnAttr("reciprocal-estimates", "divf:1,vec-divf:1");
    if (target_.preferWidth) f->addFnAttr("prefer-vector-width", std::to_string(target_.preferWidth));
  }

  // Every buffer argument is distinct memory (noalias), cache-line aligned and fully dereferenceable, which
  // is what lets LLVM vectorise and hoist loads without runtime overlap checks.
  void bufferArg(llvm::Function* f, unsigned i, int64_t bytes, const std::string& name) {
    llvm::Argument* a = f->getArg(i);
    a->setName(name);
    a->addAttr(llvm::Attribute::NoAlias);
    a->addAttr(llvm::Attribute::NoCapture);
    a->addAttr(llvm::Attribute::NoUndef);
    a->addAttr(llvm::Attribute::getWithAlignment(*ctx_, llvm::Align(kArenaAlign)));
    a->addAttr(llvm::Attribute::getWithDereferenceableBytes(*ctx_, static_cast<uint64_t>(bytes)));
  }

  llvm::Function* kernelFunction(const Kernel& k) {
    std::vector<int> bufs = kernelBuffers(g_, p_, k);
    int64_t scratch = kernelScratch(g_, k);
    std::vector<llvm::Type*> params(bufs.size() + (scratch > 0 ? 1 : 0), b_.getPtrTy());
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), params, false);
    auto* f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, k.name, *mod_);
    setFunctionAttrs(f);
    // Separate functions keep each kernel's IR and assembly readable; one call per kernel and step is free.
    f->addFnAttr(llvm::Attribute::NoInline);
    std::map<int, llvm::Value*> args;
    for (size_t i = 0; i < bufs.size(); ++i) {
      std::string nm = g_[bufs[i]].name.empty() ? fmt::format("v{}", bufs[i]) : g_[bufs[i]].name;
      bufferArg(f, static_cast<unsigned>(i), p_.bytes[bufs[i]], nm);
      args[bufs[i]] = f->getArg(static_cast<unsigned>(i));
    }
    llvm::Value* scratchArg = nullptr;
    if (scratch > 0) {
      bufferArg(f, static_cast<unsigned>(bufs.size()), scratch, "scratch");
      scratchArg = f->getArg(static_cast<unsigned>(bufs.size()));
    }
    b_.SetInsertPoint(llvm::BasicBlock::Create(*ctx_, "entry", f));
    KernelEmitter ke(b_, g_, p_, k, std::move(args), scratchArg, opts_, target_.vectorLanes);
    if (k.kind == Kernel::Op) {
      const Node& root = g_[k.root];
      if (!root.op->emitKernel) fail(fmt::format("internal error: op '{}' has no code generator", root.op->name));
      root.op->emitKernel(ke, root);
    } else {
      emitLoopNest(ke, k);
    }
    b_.CreateRetVoid();
    return f;
  }

  // A fused elementwise group: one loop per (merged) dimension, the innermost written with explicit vectors
  // (plus a scalar loop for the last few elements), the members evaluated in registers inside it.
  void emitLoopNest(KernelEmitter& ke, const Kernel& k) {
    const Shape& dom = ke.iterationDomain();
    const std::string base = ke.name(k.members.back());
    const int64_t L = ke.lanes();
    At at;
    auto innermost = [&](int64_t n) {
      int64_t full = n / L, rest = n % L;
      if (full > 0)
        ke.loop(base + ".vec", full, [&](llvm::Value* i) {
          at.idx.push_back(b_.CreateMul(i, b_.getInt64(L), "", true, true));
          at.lanes = static_cast<unsigned>(L);
          ke.emitMembers(at, {});
          at.lanes = 1;
          at.idx.pop_back();
        }, KernelEmitter::Hint::Explicit);
      if (rest > 0)
        ke.loop(base + ".rest", rest, [&](llvm::Value* i) {
          at.idx.push_back(b_.CreateAdd(i, b_.getInt64(full * L), "", true, true));
          ke.emitMembers(at, {});
          at.idx.pop_back();
        }, KernelEmitter::Hint::Explicit);
    };
    std::function<void(size_t)> nest = [&](size_t d) {
      if (d + 1 == dom.size()) return innermost(dom[d]);
      ke.loop(fmt::format("{}.i{}", base, d), dom[d], [&](llvm::Value* i) {
        at.idx.push_back(i);
        nest(d + 1);
        at.idx.pop_back();
      });
    };
    if (dom.empty()) ke.emitMembers(at, {});  // a scalar
    else nest(0);
  }

  void stepFunction(const std::vector<llvm::Function*>& fns) {
    auto* fty = llvm::FunctionType::get(b_.getVoidTy(), {b_.getPtrTy()}, false);
    auto* f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, kStepFunction, *mod_);
    setFunctionAttrs(f);
    bufferArg(f, 0, p_.arenaBytes, "arena");
    llvm::Value* arena = f->getArg(0);
    b_.SetInsertPoint(llvm::BasicBlock::Create(*ctx_, "entry", f));
    for (size_t i = 0; i < p_.kernels.size(); ++i) {
      const Kernel& k = p_.kernels[i];
      std::vector<llvm::Value*> args;
      for (int s : kernelBuffers(g_, p_, k)) {
        std::string nm = g_[s].name.empty() ? fmt::format("v{}", s) : g_[s].name;
        args.push_back(b_.CreateInBoundsGEP(b_.getInt8Ty(), arena, b_.getInt64(p_.offset[s]), nm + ".buf"));
      }
      if (kernelScratch(g_, k) > 0)
        args.push_back(b_.CreateInBoundsGEP(b_.getInt8Ty(), arena, b_.getInt64(p_.scratchOffset), "scratch"));
      if (p_.profileOffset < 0) {
        b_.CreateCall(fns[i], args);
        continue;
      }
      // Profiling: add the kernel's time-stamp-counter ticks to its slot.
      llvm::Value* t0 = b_.CreateIntrinsic(llvm::Intrinsic::readcyclecounter, {}, {});
      b_.CreateCall(fns[i], args);
      llvm::Value* t1 = b_.CreateIntrinsic(llvm::Intrinsic::readcyclecounter, {}, {});
      llvm::Value* slot = b_.CreateInBoundsGEP(b_.getInt8Ty(), arena, b_.getInt64(p_.profileOffset + 8 * i));
      llvm::Value* sum = b_.CreateAdd(b_.CreateLoad(b_.getInt64Ty(), slot), b_.CreateSub(t1, t0));
      b_.CreateStore(sum, slot);
    }
    b_.CreateRetVoid();
  }

  const Graph& g_;
  const Plan& p_;
  const CodegenOptions& opts_;
  const TargetInfo& target_;
  std::unique_ptr<llvm::LLVMContext> ctx_;
  std::unique_ptr<llvm::Module> mod_;
  llvm::IRBuilder<> b_;
};

}  // namespace

StepModule buildStepModule(const Graph& g, const Plan& plan, const CodegenOptions& opts, const TargetInfo& target) {
  return Builder(g, plan, opts, target).run();
}

}  // namespace netc::codegen
