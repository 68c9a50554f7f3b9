#include "codegen/module_builder.h"

#include <algorithm>
#include <fmt/format.h>

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/StructuralHash.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Transforms/Utils/FunctionComparator.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/kernel_emitter.h"
#include "codegen/kernels/cpu_kernels.h"
#include "codegen/kernels/gemm.h"
#include "ops/op.h"

namespace netc::codegen {

namespace {

// The buffers (storage nodes) a kernel reads or writes, each once, in first-use order. Constants read by the
// elementwise members are folded into the code and need no buffer.
std::vector<int> kernelBuffers(const Graph& g, const Plan& p, const Kernel& k) {
  std::vector<int> out;
  auto use = [&](int node) {
    int s = p.storage[node];
    if (s >= 0 && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  };
  for (int v : k.root >= 0 ? std::vector<int>{k.root} : std::vector<int>{}) {
    for (int in : g[v].inputs) use(in);
    use(v);
  }
  for (int v : k.partners) {
    for (int in : g[v].inputs) use(in);
    use(v);
  }
  for (int m : k.members) {
    for (int in : g[m].inputs)
      if (p.kernelOf[in] != p.kernelOf[m] && !isConst(g[in])) use(in);
    use(m);
  }
  return out;
}

int64_t kernelScratch(const Graph& g, const Kernel& k) {
  return k.kind == Kernel::Op && g[k.root].op->matrixProduct ? matmulScratchBytes(g, g[k.root]) : 0;
}

// One module under construction, with its own context (modules compiled on different threads must not
// share one).
struct Part {
  std::unique_ptr<llvm::LLVMContext> ctx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> mod;
  llvm::IRBuilder<> b{*ctx};
  Part(const std::string& name, const TargetInfo& t) : mod(std::make_unique<llvm::Module>(name, *ctx)) {
    mod->setTargetTriple(t.triple);
    mod->setDataLayout(t.dataLayout);
  }
};

class Builder {
 public:
  Builder(const Graph& g, const Plan& p, const CodegenOptions& o, const TargetInfo& t)
      : g_(g), p_(p), opts_(o), target_(t) {}

  // Kernels go to module partOf[k] of `parts`; the step function to the first. parts == 1 is one module in
  // which the kernels stay internal to it. A kernel whose code equals an earlier one's (same[k] < k) gets no
  // function of its own: the step calls the earlier one with its buffers.
  std::vector<StepModule> run(int parts, const std::vector<int>& partOf, std::vector<int> same) {
    std::vector<std::unique_ptr<Part>> mods;
    for (int i = 0; i < parts; ++i) mods.push_back(std::make_unique<Part>(parts == 1 ? "netc" : fmt::format("netc.{}", i), target_));
    std::vector<llvm::Function*> fns(p_.kernels.size(), nullptr);
    if (parts == 1) same = dedupInto(*mods[0], false, fns);  // one module: find the duplicates as it is built
    for (size_t k = 0; k < p_.kernels.size(); ++k)
      if (!fns[k] && same[k] == static_cast<int>(k))
        fns[k] = kernelFunction(p_.kernels[k], *mods[partOf[k]], parts > 1);
    for (size_t k = 0; k < p_.kernels.size(); ++k) fns[k] = fns[same[k]];
    stepFunction(fns, *mods.front(), false);
    if (p_.threads > 1) stepFunction(fns, *mods.front(), true);
    return finish(mods);
  }

  // A throwaway build of every kernel: instructions per kernel function as generated (before optimisation,
  // the work LLVM will have with it; 0 for a duplicate), and each kernel's first equal kernel.
  std::pair<std::vector<size_t>, std::vector<int>> scan() {
    Part scratch("sizes", target_);
    std::vector<llvm::Function*> fns(p_.kernels.size(), nullptr);
    std::vector<int> same = dedupInto(scratch, false, fns);
    std::vector<size_t> sizes(p_.kernels.size(), 0);
    for (size_t k = 0; k < p_.kernels.size(); ++k)
      if (same[k] == static_cast<int>(k)) sizes[k] = fns[k]->getInstructionCount();
    return {sizes, same};
  }

 private:
  // Builds every kernel into `part`, keeping one function per distinct code: an unrolled loop's steps make the
  // same kernels over other buffers (a 16-step GRU: 540 kernels, a few dozen distinct), and compiling each
  // once cuts LLVM's work and the step's code size alike. Equal means LLVM's FunctionComparator (what its
  // MergeFunctions pass trusts) finds no difference: every instruction, constant, type and attribute,
  // the buffers' sizes and alignment included; only names differ. Returns each kernel's first equal kernel.
  std::vector<int> dedupInto(Part& part, bool split, std::vector<llvm::Function*>& fns) {
    std::vector<int> same(p_.kernels.size());
    std::multimap<uint64_t, int> byHash;
    llvm::GlobalNumberState globals;
    for (size_t k = 0; k < p_.kernels.size(); ++k) {
      llvm::Function* f = kernelFunction(p_.kernels[k], part, split);
      uint64_t h = llvm::StructuralHash(*f);
      same[k] = static_cast<int>(k);
      auto [lo, hi] = byHash.equal_range(h);
      for (auto it = lo; it != hi; ++it)
        if (llvm::FunctionComparator(fns[it->second], f, &globals).compare() == 0) {
          same[k] = it->second;
          break;
        }
      if (same[k] != static_cast<int>(k)) {
        f->eraseFromParent();
        continue;
      }
      fns[k] = f;
      byHash.emplace(h, static_cast<int>(k));
    }
    return same;
  }

 public:

 private:
  std::vector<StepModule> finish(std::vector<std::unique_ptr<Part>>& parts) {
    std::vector<StepModule> out;
    for (auto& part : parts) {
      std::string err;
      llvm::raw_string_ostream os(err);
      if (llvm::verifyModule(*part->mod, &os)) fail(fmt::format("internal error: generated LLVM IR is invalid:\n{}", err));
      out.push_back({std::move(part->ctx), std::move(part->mod)});
    }
    return out;
  }

  void setFunctionAttrs(llvm::Function* f) {
    f->addFnAttr(llvm::Attribute::NoUnwind);
    // Divisions marked `arcp` (fast_math's reciprocal) may use the hardware estimate plus one Newton step.
    f->addFnAttr("reciprocal-estimates", "divf:1,vec-divf:1");
    if (target_.preferWidth) f->addFnAttr("prefer-vector-width", std::to_string(target_.preferWidth));
  }

  // Every buffer argument is distinct memory (noalias), cache-line aligned and fully dereferenceable, which
  // is what lets LLVM vectorise and hoist loads without runtime overlap checks.
  void bufferArg(llvm::Function* f, unsigned i, int64_t bytes, const std::string& name) {
    llvm::LLVMContext& ctx = f->getContext();
    llvm::Argument* a = f->getArg(i);
    a->setName(name);
    a->addAttr(llvm::Attribute::NoAlias);
    a->addAttr(llvm::Attribute::NoCapture);
    a->addAttr(llvm::Attribute::NoUndef);
    a->addAttr(llvm::Attribute::getWithAlignment(ctx, llvm::Align(kArenaAlign)));
    a->addAttr(llvm::Attribute::getWithDereferenceableBytes(ctx, static_cast<uint64_t>(bytes + kTailSlack)));
  }

  // In a module of its own (split), the kernel is an external symbol the step function's module refers to.
  llvm::Function* kernelFunction(const Kernel& k, Part& part, bool split) {
    llvm::IRBuilder<>& b = part.b;
    std::vector<int> bufs = kernelBuffers(g_, p_, k);
    int64_t scratch = kernelScratch(g_, k);
    // Buffers, then scratch, then every thread's partial sums (Kernel::sumSplit), then the thread's number
    // (which rows it computes), then the phase of a split sum (0: partial sums, 1: totals).
    std::vector<llvm::Type*> params(bufs.size() + (scratch > 0 ? 1 : 0) + (k.sumSplit ? 1 : 0), b.getPtrTy());
    if (k.split) params.push_back(b.getInt64Ty());
    if (k.sumSplit) params.push_back(b.getInt64Ty());
    auto* fty = llvm::FunctionType::get(b.getVoidTy(), params, false);
    auto* f = llvm::Function::Create(fty, split ? llvm::Function::ExternalLinkage : llvm::Function::InternalLinkage,
                                     k.name, *part.mod);
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
    llvm::Value* partialsArg = nullptr;
    if (k.sumSplit) {
      const unsigned at = static_cast<unsigned>(bufs.size() + (scratch > 0 ? 1 : 0));
      bufferArg(f, at, k.partialStride * p_.threads - kTailSlack, "partials");
      partialsArg = f->getArg(at);
    }
    b.SetInsertPoint(llvm::BasicBlock::Create(*part.ctx, "entry", f));
    KernelEmitter ke(b, g_, p_, k, std::move(args), scratchArg, opts_, target_.vectorLanes);
    if (k.split) ke.setTeamShare(f->getArg(static_cast<unsigned>(params.size() - (k.sumSplit ? 2 : 1))), p_.threads);
    if (k.sumSplit) ke.setSplitSum(f->getArg(static_cast<unsigned>(params.size() - 1)), partialsArg, k.partialStride);
    if (k.kind == Kernel::Op) {
      const Node& root = g_[k.root];
      cpuKernelEmitter(*root.op)(ke, root);
    } else {
      emitLoopNest(ke, k, b);
    }
    b.CreateRetVoid();
    return f;
  }

  // A fused elementwise group: one loop per (merged) dimension, the innermost written with explicit vectors
  // (plus a scalar loop for the last few elements), the members evaluated in registers inside it.
  void emitLoopNest(KernelEmitter& ke, const Kernel& k, llvm::IRBuilder<>& b) {
    const Shape& dom = ke.iterationDomain();
    const std::string base = ke.name(k.members.back());
    const int64_t L = ke.lanes();
    At at;
    auto innermost = [&](int64_t n) {
      int64_t full = n / L, rest = n % L;
      if (full > 0)
        ke.loop(base + ".vec", full, [&](llvm::Value* i) {
          at.idx.push_back(b.CreateMul(i, b.getInt64(L), "", true, true));
          at.lanes = static_cast<unsigned>(L);
          ke.emitMembers(at, {});
          at.lanes = 1;
          at.idx.pop_back();
        }, KernelEmitter::Hint::Explicit);
      if (rest > 0)
        ke.loop(base + ".rest", rest, [&](llvm::Value* i) {
          at.idx.push_back(b.CreateAdd(i, b.getInt64(full * L), "", true, true));
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

  // The step function: `solo` false is netc_step, run by every thread of the team; true is netc_step_solo
  // (only with a team), run by one thread alone, which calls each split kernel once per share in turn: the
  // same code and the same results as the team's, without waiting for anyone (ThreadTeam falls back on it
  // when the machine's other cores are busy).
  void stepFunction(const std::vector<llvm::Function*>& kernels, Part& part, bool solo) {
    llvm::IRBuilder<>& b = part.b;
    auto* fty = llvm::FunctionType::get(b.getVoidTy(), {b.getPtrTy(), b.getInt64Ty(), b.getPtrTy(), b.getPtrTy()}, false);
    auto* f = llvm::Function::Create(fty, llvm::Function::ExternalLinkage, solo ? kSoloStepFunction : kStepFunction,
                                     *part.mod);
    // Kernels built in other modules are called through declarations of the same name (made once per module).
    std::vector<llvm::Function*> fns;
    for (llvm::Function* k : kernels) {
      if (k->getParent() == part.mod.get()) {
        fns.push_back(k);
        continue;
      }
      if (llvm::Function* declared = part.mod->getFunction(k->getName())) {
        fns.push_back(declared);  // a kernel called more than once (shared code), or the second step function
        continue;
      }
      // The same signature, rebuilt in this module's context (types belong to one context).
      std::vector<llvm::Type*> params;
      for (llvm::Argument& a : k->args())
        params.push_back(a.getType()->isPointerTy() ? static_cast<llvm::Type*>(b.getPtrTy()) : b.getInt64Ty());
      auto* ty = llvm::FunctionType::get(b.getVoidTy(), params, false);
      fns.push_back(llvm::Function::Create(ty, llvm::Function::ExternalLinkage, k->getName(), *part.mod));
    }
    setFunctionAttrs(f);
    bufferArg(f, 0, p_.arenaBytes, "arena");
    llvm::Value* arena = f->getArg(0);
    llvm::Value* thread = f->getArg(1);
    llvm::Value* barrier = f->getArg(2);
    llvm::Value* team = f->getArg(3);
    thread->setName("thread");
    barrier->setName("barrier");
    team->setName("team");
    b.SetInsertPoint(llvm::BasicBlock::Create(*part.ctx, "entry", f));
    auto* barrierTy = llvm::FunctionType::get(b.getVoidTy(), {b.getPtrTy()}, false);
    const int64_t nk = static_cast<int64_t>(p_.kernels.size());
    // One call of kernel i as thread `t` (whose scratch it gets, and whose share of a split kernel).
    auto call = [&](size_t i, llvm::Value* t, int phase = 0) {
      const Kernel& k = p_.kernels[i];
      std::vector<llvm::Value*> args;
      for (int s : kernelBuffers(g_, p_, k)) {
        std::string nm = g_[s].name.empty() ? fmt::format("v{}", s) : g_[s].name;
        args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), arena, b.getInt64(p_.offset[s]), nm + ".buf"));
      }
      if (kernelScratch(g_, k) > 0) {
        llvm::Value* at = b.CreateAdd(b.getInt64(p_.scratchOffset), b.CreateMul(t, b.getInt64(p_.scratchStride)));
        args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), arena, at, "scratch"));
      }
      if (k.sumSplit) args.push_back(b.CreateInBoundsGEP(b.getInt8Ty(), arena, b.getInt64(k.partialOffset), "partials"));
      if (k.split) args.push_back(t);
      if (k.sumSplit) args.push_back(b.getInt64(static_cast<uint64_t>(phase)));
      if (p_.profileOffset < 0) return void(b.CreateCall(fns[i], args));
      // Profiling: add the kernel's time-stamp-counter ticks to its slot in the calling thread's row.
      llvm::Value* t0 = b.CreateIntrinsic(llvm::Intrinsic::readcyclecounter, {}, {});
      b.CreateCall(fns[i], args);
      llvm::Value* t1 = b.CreateIntrinsic(llvm::Intrinsic::readcyclecounter, {}, {});
      llvm::Value* at = b.CreateAdd(b.getInt64(p_.profileOffset + 8 * static_cast<int64_t>(i)),
                                    b.CreateMul(solo ? b.getInt64(0) : thread, b.getInt64(8 * nk)));
      llvm::Value* slot = b.CreateInBoundsGEP(b.getInt8Ty(), arena, at);
      llvm::Value* sum = b.CreateAdd(b.CreateLoad(b.getInt64Ty(), slot), b.CreateSub(t1, t0));
      b.CreateStore(sum, slot);
    };
    for (size_t i = 0; i < p_.kernels.size(); ++i) {
      const Kernel& k = p_.kernels[i];
      if (solo) {
        for (int phase = 0; phase < (k.sumSplit ? 2 : 1); ++phase)
          for (int t = 0; t < (k.split ? p_.threads : 1); ++t) call(i, b.getInt64(static_cast<uint64_t>(t)), phase);
        continue;
      }
      if (p_.threads > 1 && k.barrier) b.CreateCall(barrierTy, barrier, {team});
      if (k.sumSplit) {
        call(i, thread, 0);
        b.CreateCall(barrierTy, barrier, {team});  // every thread's partial sums are complete
        call(i, thread, 1);
        continue;
      }
      if (p_.threads <= 1 || k.split) {
        call(i, thread);
        continue;
      }
      // A kernel the team does not share runs on thread 0; the others skip it.
      llvm::BasicBlock* run = llvm::BasicBlock::Create(*part.ctx, k.name, f);
      llvm::BasicBlock* next = llvm::BasicBlock::Create(*part.ctx, k.name + ".done", f);
      b.CreateCondBr(b.CreateICmpEQ(thread, b.getInt64(0)), run, next);
      b.SetInsertPoint(run);
      call(i, thread);
      b.CreateBr(next);
      b.SetInsertPoint(next);
    }
    b.CreateRetVoid();
  }

  const Graph& g_;
  const Plan& p_;
  const CodegenOptions& opts_;
  const TargetInfo& target_;
};

}  // namespace

StepModule buildStepModule(const Graph& g, const Plan& plan, const CodegenOptions& opts, const TargetInfo& target) {
  return std::move(Builder(g, plan, opts, target).run(1, std::vector<int>(plan.kernels.size(), 0), {}).front());
}

std::vector<StepModule> buildStepModules(const Graph& g, const Plan& plan, const CodegenOptions& opts,
                                         const TargetInfo& target, int parts) {
  Builder builder(g, plan, opts, target);
  parts = std::max(1, std::min<int>(parts, static_cast<int>(plan.kernels.size())));
  if (parts == 1) return builder.run(1, std::vector<int>(plan.kernels.size(), 0), {});
  // Largest kernels first, each to the least loaded module (sizes from a throwaway build: a few milliseconds).
  auto [size, same] = builder.scan();
  std::vector<int> order(size.size()), partOf(size.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return size[a] > size[b]; });
  std::vector<size_t> load(static_cast<size_t>(parts), 0);
  for (int k : order) {
    int least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    partOf[k] = least;
    load[least] += size[k];
  }
  return builder.run(parts, partOf, same);
}

}  // namespace netc::codegen
