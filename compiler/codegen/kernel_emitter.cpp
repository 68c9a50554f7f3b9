#include "codegen/kernel_emitter.h"

#include <algorithm>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

using llvm::Value;

KernelEmitter::KernelEmitter(llvm::IRBuilder<>& b, const Graph& g, const codegen::Plan& plan,
                             const codegen::Kernel& kernel, std::map<int, Value*> buffers, Value* scratch,
                             const codegen::CodegenOptions& opts, unsigned vectorLanes)
    : b(b), g(g), plan(plan), kernel(kernel), opts(opts), buffers_(std::move(buffers)), scratch_(scratch), lanes_(vectorLanes) {
  domain_ = kernel.domain;
  if (kernel.kind == codegen::Kernel::Loop) {
    full_ = kernel.domain;
    for (size_t d = 0; d < domain_.size(); ++d) groups_.push_back({static_cast<int>(d)});
    mergeDims();
    return;
  }
  // An Op kernel's domain may merge the root's leading dimensions into its first (a matrix product's folded
  // rows, plan.cpp): the rest match one to one, from the right.
  full_ = g[kernel.root].shape;
  const int merged = static_cast<int>(full_.size()) - static_cast<int>(domain_.size());
  if (merged < 0) fail(fmt::format("internal error: kernel {} has a domain of higher rank than its root", kernel.name));
  for (int d = 0; d < static_cast<int>(domain_.size()); ++d) {
    groups_.emplace_back();
    for (int f = d == 0 ? 0 : d + merged; f <= d + merged; ++f) groups_.back().push_back(f);
  }
}

llvm::Type* KernelEmitter::vecTy(unsigned lanes) {
  return lanes == 1 ? f32Ty() : static_cast<llvm::Type*>(llvm::FixedVectorType::get(f32Ty(), lanes));
}

Value* KernelEmitter::splat(Value* scalar, unsigned lanes) {
  return lanes == 1 ? scalar : b.CreateVectorSplat(lanes, scalar);
}

std::optional<double> KernelEmitter::constant(int node) const {
  if (isConst(g[node])) return g[node].attrs.value;
  return std::nullopt;
}

std::string KernelEmitter::name(int node) const {
  return g[node].name.empty() ? fmt::format("v{}", node) : g[node].name;
}

Value* KernelEmitter::ptr(int node) const {
  int s = plan.storage[node];
  auto it = buffers_.find(s);
  if (s < 0 || it == buffers_.end())
    fail(fmt::format("internal error: kernel {} has no buffer for {}", kernel.name, g.valueName(node)));
  return it->second;
}

Value* KernelEmitter::scratch() const {
  if (!scratch_) fail(fmt::format("internal error: kernel {} has no scratch space", kernel.name));
  return scratch_;
}

void KernelEmitter::forRowShares(int64_t rows, int64_t granule, const std::function<void(Value*, int64_t)>& body) {
  if (!thread_ || threads_ <= 1) return body(i64(0), rows);
  granule = std::max<int64_t>(1, granule);
  const int64_t units = (rows + granule - 1) / granule;
  std::vector<int64_t> first(static_cast<size_t>(threads_) + 1);
  for (int t = 0; t <= threads_; ++t) first[t] = std::min(rows, units * t / threads_ * granule);
  bool equal = true;
  for (int t = 1; t < threads_; ++t) equal = equal && first[t + 1] - first[t] == first[1] - first[0];
  if (equal) {
    if (first[1] > 0) body(b.CreateMul(thread_, i64(first[1])), first[1]);
    return;
  }
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::BasicBlock* done = llvm::BasicBlock::Create(b.getContext(), "share.done", f);
  llvm::SwitchInst* sw = b.CreateSwitch(thread_, done, static_cast<unsigned>(threads_));
  for (int t = 0; t < threads_; ++t) {
    if (first[t + 1] == first[t]) continue;
    llvm::BasicBlock* bb = llvm::BasicBlock::Create(b.getContext(), fmt::format("share{}", t), f);
    sw->addCase(b.getInt64(static_cast<uint64_t>(t)), bb);
    b.SetInsertPoint(bb);
    body(i64(first[t]), first[t + 1] - first[t]);
    b.CreateBr(done);
  }
  b.SetInsertPoint(done);
}

void KernelEmitter::splitSum(int64_t rows, int64_t granule, const PartialBody& partial, const TotalBody& total) {
  if (!sumSplit() || !thread_) fail("internal error: a split sum in a kernel the plan did not split");
  if (rows < threads_ * std::max<int64_t>(1, granule))
    fail("internal error: a split sum with fewer rows than its threads need (CpuKernel::partialBytes)");
  llvm::Function* f = b.GetInsertBlock()->getParent();
  llvm::BasicBlock* sums = llvm::BasicBlock::Create(b.getContext(), "partial.sums", f);
  llvm::BasicBlock* totals = llvm::BasicBlock::Create(b.getContext(), "totals", f);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(b.getContext(), "phase.done", f);
  b.CreateCondBr(b.CreateICmpEQ(phase_, i64(0)), sums, totals);
  b.SetInsertPoint(sums);
  Value* mine = b.CreateInBoundsGEP(b.getInt8Ty(), partials_, b.CreateMul(thread_, i64(partialStride_)), "mine");
  forRowShares(rows, granule, [&](Value* first, int64_t count) { partial(first, count, mine); });
  b.CreateBr(done);
  b.SetInsertPoint(totals);
  total([&](int t) { return b.CreateInBoundsGEP(b.getInt8Ty(), partials_, i64(t * partialStride_), "partial"); });
  b.CreateBr(done);
  b.SetInsertPoint(done);
}

Value* KernelEmitter::addPartials(const std::function<Value*(int)>& partialOf, Value* index, unsigned lanes,
                                 Value* mask) {
  Value* sum = nullptr;
  for (int t = 0; t < threads_; ++t) {
    Value* part = loadVec(partialOf(t), index, lanes, mask, "part");
    sum = sum ? b.CreateFAdd(sum, part) : part;
  }
  return sum;
}

Value* KernelEmitter::at(Value* base, Value* index, llvm::Type* elem, const llvm::Twine& name) {
  return b.CreateInBoundsGEP(elem, base, index, name);
}

Value* KernelEmitter::load(int node, Value* index, const llvm::Twine& nm) {
  llvm::Type* t = g[node].dtype == DType::I32 ? static_cast<llvm::Type*>(b.getInt32Ty()) : f32Ty();
  return b.CreateAlignedLoad(t, at(ptr(node), index, t), llvm::Align(4), nm);
}

void KernelEmitter::store(int node, Value* index, Value* v) {
  b.CreateAlignedStore(v, at(ptr(node), index, v->getType()), llvm::Align(4));
}

Value* KernelEmitter::loadVec(Value* base, Value* index, unsigned lanes, Value* mask, const llvm::Twine& nm,
                              Value* passthru) {
  Value* p = at(base, index, f32Ty());
  if (lanes == 1) return b.CreateAlignedLoad(f32Ty(), p, llvm::Align(4), nm);
  Value* v = b.CreateAlignedLoad(vecTy(lanes), p, llvm::Align(4), nm);
  if (!mask) return v;
  return b.CreateSelect(mask, v, passthru ? passthru : llvm::Constant::getNullValue(vecTy(lanes)));
}

void KernelEmitter::storeVec(Value* base, Value* index, Value* v, Value* mask) {
  Value* p = at(base, index, f32Ty());
  // In a kernel split across threads the lanes past a row's end may be the first elements of the next row,
  // which another thread writes at the same time: writing them back unchanged could undo its store, so only
  // the real lanes are written (a masked store, slower on some cores, but only at the last vector of a row).
  if (mask && thread_) return void(b.CreateMaskedStore(v, p, llvm::Align(4), mask));
  if (mask) v = b.CreateSelect(mask, v, b.CreateAlignedLoad(v->getType(), p, llvm::Align(4), "keep"));
  b.CreateAlignedStore(v, p, llvm::Align(4));
}

Value* KernelEmitter::local(llvm::Type* t, const llvm::Twine& name) {
  llvm::IRBuilderBase::InsertPointGuard keep(b);
  llvm::BasicBlock& entry = b.GetInsertBlock()->getParent()->getEntryBlock();
  b.SetInsertPoint(&entry, entry.begin());
  auto* slot = b.CreateAlloca(t, nullptr, name);
  slot->setAlignment(llvm::Align(64));
  return slot;
}

Value* KernelEmitter::laneMask(unsigned lanes, unsigned valid) {
  if (valid >= lanes) return nullptr;
  std::vector<llvm::Constant*> bits;
  for (unsigned l = 0; l < lanes; ++l) bits.push_back(b.getInt1(l < valid));
  return llvm::ConstantVector::get(bits);
}

void KernelEmitter::loop(const std::string& name, int64_t count, const std::function<void(Value*)>& body, Hint hint) {
  loop(
      name, count, {},
      [&](Value* i, const std::vector<Value*>&) {
        body(i);
        return std::vector<Value*>{};
      },
      hint);
}

// !llvm.loop metadata turning off unrolling and vectorisation of one loop.
static llvm::MDNode* explicitLoopMetadata(llvm::LLVMContext& ctx) {
  llvm::Metadata* noUnroll = llvm::MDNode::get(ctx, llvm::MDString::get(ctx, "llvm.loop.unroll.disable"));
  llvm::Metadata* noVector = llvm::MDNode::get(
      ctx, {llvm::MDString::get(ctx, "llvm.loop.vectorize.enable"),
            llvm::ConstantAsMetadata::get(llvm::ConstantInt::getFalse(ctx))});
  llvm::MDNode* md = llvm::MDNode::getDistinct(ctx, {nullptr, noUnroll, noVector});
  md->replaceOperandWith(0, md);  // a loop ID refers to itself
  return md;
}

std::vector<Value*> KernelEmitter::loop(const std::string& name, int64_t count, std::vector<Value*> init,
                                        const CarriedBody& body, Hint hint) {
  if (count <= 0) return init;
  llvm::BasicBlock* pre = b.GetInsertBlock();
  llvm::Function* fn = pre->getParent();
  auto* head = llvm::BasicBlock::Create(b.getContext(), name + ".loop", fn);
  b.CreateBr(head);
  b.SetInsertPoint(head);
  // A do-while loop: every trip count here is a known constant >= 1, so no guard is needed.
  llvm::PHINode* iv = b.CreatePHI(i64Ty(), 2, name);
  iv->addIncoming(i64(0), pre);
  std::vector<llvm::PHINode*> phis;
  std::vector<Value*> cur;
  for (Value* v : init) {
    phis.push_back(b.CreatePHI(v->getType(), 2, v->getName() + ".acc"));
    phis.back()->addIncoming(v, pre);
    cur.push_back(phis.back());
  }
  std::vector<Value*> next = body(iv, cur);
  if (next.size() != phis.size()) fail("internal error: a loop body returned the wrong number of carried values");
  Value* ivNext = b.CreateAdd(iv, i64(1), name + ".next", /*HasNUW=*/true, /*HasNSW=*/true);
  llvm::BasicBlock* latch = b.GetInsertBlock();
  iv->addIncoming(ivNext, latch);
  for (size_t k = 0; k < phis.size(); ++k) phis[k]->addIncoming(next[k], latch);
  auto* exit = llvm::BasicBlock::Create(b.getContext(), name + ".done", fn);
  llvm::BranchInst* back = b.CreateCondBr(b.CreateICmpEQ(ivNext, i64(count)), exit, head);
  if (hint == Hint::Explicit) back->setMetadata(llvm::LLVMContext::MD_loop, explicitLoopMetadata(b.getContext()));
  b.SetInsertPoint(exit);
  return next;
}

void KernelEmitter::forVectors(const std::string& name, int64_t count, const VectorBody& body) {
  const int64_t L = lanes_;
  const int64_t full = count / L, rest = count % L;
  if (full > 0) loop(name, full, [&](Value* i) { body(b.CreateMul(i, i64(L), "", true, true), nullptr); }, Hint::Explicit);
  if (rest > 0) body(i64(full * L), laneMask(lanes_, static_cast<unsigned>(rest)));
}

Value* KernelEmitter::reduceAdd(Value* v) {
  Reassociate fast(b);
  return b.CreateFAddReduce(f32(0), v);
}

Value* KernelEmitter::reduceMax(Value* v) { return b.CreateFPMaxReduce(v); }

KernelEmitter::Reassociate::Reassociate(llvm::IRBuilderBase& b) : b_(b), saved_(b.getFastMathFlags()) {
  llvm::FastMathFlags f = saved_;
  f.setAllowReassoc();
  f.setAllowContract();
  b_.setFastMathFlags(f);
}

KernelEmitter::Reassociate::~Reassociate() { b_.setFastMathFlags(saved_); }

// ---- the elementwise members ----

std::vector<int64_t> KernelEmitter::stridesOver(int node) const {
  const Shape& D = full_;
  const Shape& S = g[node].shape;
  std::vector<int64_t> st(D.size(), 0);
  int64_t run = 1;
  for (int sd = static_cast<int>(S.size()) - 1; sd >= 0; --sd) {
    int d = sd + static_cast<int>(D.size()) - static_cast<int>(S.size());
    if (d >= 0 && S[sd] != 1) st[d] = run;  // size-1 axes broadcast: stride 0
    run *= S[sd];
  }
  return st;
}

std::vector<int64_t> KernelEmitter::iterationStrides(int node) const {
  // A merged dimension steps by the stride of its innermost dimension that is not 1 (the others' indices are
  // always 0; mergeDims and the plan merge only where that describes every value).
  std::vector<int64_t> full = stridesOver(node), out;
  for (const auto& grp : groups_) {
    int inner = grp.back();
    for (int d : grp)
      if (full_[d] != 1) inner = d;
    out.push_back(full[inner]);
  }
  return out;
}

void KernelEmitter::mergeDims() {
  // Everything the loop touches in memory: the members and whatever they read.
  std::vector<std::vector<int64_t>> strides;
  for (int m : kernel.members) {
    strides.push_back(stridesOver(m));
    for (int in : g[m].inputs) strides.push_back(stridesOver(in));
  }
  const Shape& D = full_;
  domain_.clear();
  groups_.clear();
  // Walk from the innermost dimension outwards; size-1 dimensions disappear (their index is always 0).
  for (int d = static_cast<int>(D.size()) - 1; d >= 0; --d) {
    if (D[d] == 1) continue;
    bool merge = !groups_.empty();
    if (merge) {
      int inner = groups_.front().back();
      for (const auto& st : strides) merge = merge && st[d] == st[inner] * domain_.front();
    }
    if (merge) {
      groups_.front().insert(groups_.front().begin(), d);
      domain_.front() *= D[d];
    } else {
      groups_.insert(groups_.begin(), {d});
      domain_.insert(domain_.begin(), D[d]);
    }
  }
}

Value* KernelEmitter::offset(const At& at, const std::vector<int64_t>& strides) {
  Value* off = nullptr;
  for (size_t d = 0; d < strides.size(); ++d) {
    if (strides[d] == 0) continue;
    Value* term = strides[d] == 1 ? at.idx[d] : b.CreateMul(at.idx[d], i64(strides[d]), "", true, true);
    off = off ? b.CreateAdd(off, term, "", true, true) : term;
  }
  return off ? off : i64(0);
}

void KernelEmitter::emitMembers(const At& at, std::map<int, Value*> vals) {
  auto value = [&](int in) -> Value* {
    if (auto it = vals.find(in); it != vals.end()) return it->second;
    Value* v;
    if (auto c = constant(in)) {
      v = splat(f32(*c), at.lanes);
    } else {
      std::vector<int64_t> st = iterationStrides(in);
      Value* off = offset(at, st);
      bool contiguous = !st.empty() && st.back() == 1;
      if (at.lanes > 1 && contiguous) v = loadVec(ptr(in), off, at.lanes, at.mask, name(in));
      else v = splat(load(in, off, name(in)), at.lanes);
    }
    vals[in] = v;
    return v;
  };
  for (int m : kernel.members) {
    const Node& n = g[m];
    std::vector<Value*> args;
    for (int in : n.inputs) args.push_back(value(in));
    if (!n.op->emitScalar) fail(fmt::format("internal error: elementwise op '{}' has no code generator", n.op->name));
    Value* v = n.op->emitScalar(b, args);
    v->setName(name(m));
    vals[m] = v;
    if (plan.stored(m)) {
      Value* off = offset(at, iterationStrides(m));
      if (at.lanes > 1) storeVec(ptr(m), off, v, at.mask);
      else store(m, off, v);
    }
  }
}

void KernelEmitter::emitResult(const At& at, Value* value) {
  int root = kernel.root;
  value->setName(name(root));
  if (plan.stored(root)) {
    Value* off = offset(at, iterationStrides(root));
    if (at.lanes > 1) storeVec(ptr(root), off, value, at.mask);
    else store(root, off, value);
  }
  if (!kernel.members.empty()) emitMembers(at, {{root, value}});
}

}  // namespace netc
