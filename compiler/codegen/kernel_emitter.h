// What an op's CPU kernel emitter (codegen/kernels/, CpuKernel::emit) works with while one kernel function is
// being built: the IRBuilder, the kernel's buffers (noalias pointer arguments), counted loops, typed loads and
// stores, and the hand-over of results to the elementwise epilogue the planner folded into the kernel.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <llvm/IR/IRBuilder.h>

#include "codegen/options.h"
#include "codegen/plan.h"

namespace netc {

// A point of a kernel's iteration domain: one i64 index per dimension. The last index may start a vector of
// `lanes` consecutive elements, of which `mask` (an <lanes x i1>, or null for all) says which are real.
struct At {
  std::vector<llvm::Value*> idx;
  unsigned lanes = 1;
  llvm::Value* mask = nullptr;
};

class KernelEmitter {
 public:
  KernelEmitter(llvm::IRBuilder<>& b, const Graph& g, const codegen::Plan& plan, const codegen::Kernel& kernel,
                std::map<int, llvm::Value*> buffers, llvm::Value* scratch, const codegen::CodegenOptions& opts,
                unsigned vectorLanes);

  llvm::IRBuilder<>& b;
  const Graph& g;
  const codegen::Plan& plan;
  const codegen::Kernel& kernel;
  const codegen::CodegenOptions& opts;

  // ---- types and constants ----
  llvm::Type* f32Ty() { return b.getFloatTy(); }
  llvm::Type* i64Ty() { return b.getInt64Ty(); }
  llvm::Type* vecTy(unsigned lanes);  // <lanes x float>, or float for 1
  llvm::Value* i64(int64_t v) { return b.getInt64(static_cast<uint64_t>(v)); }
  llvm::Value* f32(double v) { return llvm::ConstantFP::get(f32Ty(), v); }
  llvm::Value* splat(llvm::Value* scalar, unsigned lanes);
  // The value of a const node, so generators can fold it instead of loading it.
  std::optional<double> constant(int node) const;
  // The node's .net name (or its number) for naming IR values after graph nodes.
  std::string name(int node) const;
  // The SIMD width, in floats, that explicit vector code should use on this target.
  unsigned lanes() const { return lanes_; }

  // ---- memory ----
  llvm::Value* ptr(int node) const;  // the buffer holding a stored node's value
  llvm::Value* scratch() const;      // the shared scratch space the plan reserved for this kernel
  llvm::Value* at(llvm::Value* base, llvm::Value* index, llvm::Type* elem, const llvm::Twine& name = "");
  llvm::Value* load(int node, llvm::Value* index, const llvm::Twine& name = "");  // one f32 or i32 element
  void store(int node, llvm::Value* index, llvm::Value* v);
  // `lanes` consecutive floats from base[index]. With a mask, only its lanes count: the others read as
  // `passthru` (zero when null) and are left unchanged by stores. Both rely on the kTailSlack bytes after
  // every buffer: the whole vector is loaded, and stored back blended, since the data beyond the tensor's last
  // element is padding or elements of the same buffer that the blend writes back unchanged (in a split kernel, a
  // masked store: the next row may be another thread's).
  llvm::Value* loadVec(llvm::Value* base, llvm::Value* index, unsigned lanes, llvm::Value* mask,
                       const llvm::Twine& name = "", llvm::Value* passthru = nullptr);
  void storeVec(llvm::Value* base, llvm::Value* index, llvm::Value* v, llvm::Value* mask);
  // A stack slot of type t, allocated once in the function's entry block (so a slot used inside a loop does
  // not grow the stack per iteration; LLVM promotes scalar and vector slots to registers).
  llvm::Value* local(llvm::Type* t, const llvm::Twine& name = "");
  // The lane mask selecting the first `valid` of `lanes` lanes (null when all are valid).
  llvm::Value* laneMask(unsigned lanes, unsigned valid);

  // ---- loops with constant trip counts ----
  // What LLVM may do to a loop. Loops that are already written with explicit vectors, or that are cold
  // remainders, say so: re-vectorising or unrolling them only multiplies code (and compile time).
  enum class Hint { Auto, Explicit };
  // for i in [0, count): body(i). Blocks are named after `name`.
  void loop(const std::string& name, int64_t count, const std::function<void(llvm::Value*)>& body,
            Hint hint = Hint::Auto);
  // The same with values carried between iterations (accumulators); returns their values after the loop.
  using CarriedBody = std::function<std::vector<llvm::Value*>(llvm::Value*, const std::vector<llvm::Value*>&)>;
  std::vector<llvm::Value*> loop(const std::string& name, int64_t count, std::vector<llvm::Value*> init,
                                 const CarriedBody& body, Hint hint = Hint::Auto);
  // Walks [0, count) in vectors of lanes() elements: a loop over the full vectors, then the last partial one
  // (if any) with its lane mask. body(first element index, mask or null) runs for each; the code of the body
  // exists twice at most, whatever the count.
  using VectorBody = std::function<void(llvm::Value* first, llvm::Value* mask)>;
  void forVectors(const std::string& name, int64_t count, const VectorBody& body);
  // Horizontal sum / max of a float vector (the sum reassociates, which reductions here allow).
  llvm::Value* reduceAdd(llvm::Value* v);
  llvm::Value* reduceMax(llvm::Value* v);

  // Sets fast-math flags for sums whose order does not matter here (the interpreter is the reference for
  // accuracy): they let LLVM vectorise reductions and contract multiply-adds. Restored on destruction.
  class Reassociate {
   public:
    explicit Reassociate(llvm::IRBuilderBase& b);
    ~Reassociate();

   private:
    llvm::IRBuilderBase& b_;
    llvm::FastMathFlags saved_;
  };

  // ---- the thread team (Kernel::split) ----
  // A split kernel is called on every thread with the thread's number; it computes its share of rows.
  void setTeamShare(llvm::Value* thread, int threads) { thread_ = thread, threads_ = threads; }
  // Rows [0, rows) cut into one share per thread, at multiples of `granule` rows (a register tile's height)
  // and as equal as that allows; body(first row, row count) emits the code of one share. Not split: one share
  // of every row. When all shares have the same size their code exists once, the first row computed from the
  // thread's number; otherwise each share gets its own code (with constant bounds) behind a switch on it.
  // Shares of no rows emit nothing.
  void forRowShares(int64_t rows, int64_t granule, const std::function<void(llvm::Value*, int64_t)>& body);

  // ---- sums split across the team (Kernel::sumSplit) ----
  void setSplitSum(llvm::Value* phase, llvm::Value* partials, int64_t stride) {
    phase_ = phase, partials_ = partials, partialStride_ = stride;
  }
  bool sumSplit() const { return phase_ != nullptr; }
  int teamThreads() const { return threads_; }
  // Both phases of a split sum over `rows` rows. First `partial(first, count, mine)`: this thread's share of
  // the rows (cut at multiples of `granule`; every thread gets some) summed into its own partial result at
  // `mine` (CpuKernel::partialBytes of them). After the barrier between the phases, `total(partialOf)`: this
  // thread's share of the results, from partialOf(t) for t = 0 .. teamThreads()-1, added in that order.
  using PartialBody = std::function<void(llvm::Value* first, int64_t count, llvm::Value* mine)>;
  using TotalBody = std::function<void(const std::function<llvm::Value*(int thread)>& partialOf)>;
  void splitSum(int64_t rows, int64_t granule, const PartialBody& partial, const TotalBody& total);
  // In `total`: the `lanes` floats at `index` of every thread's partial (lanes outside `mask` read as zero),
  // added in thread order.
  llvm::Value* addPartials(const std::function<llvm::Value*(int thread)>& partialOf, llvm::Value* index,
                           unsigned lanes, llvm::Value* mask = nullptr);

  // ---- results and the fused elementwise work ----
  // Kernel ops hand each result of their node over here, at a point of the node's shape: it is stored when
  // the plan keeps it, and the epilogue folded into the kernel is evaluated on it in registers.
  void emitResult(const At& at, llvm::Value* value);
  // The domain the kernel iterates over: a Loop kernel's shape with adjacent dimensions merged wherever every
  // value it reads and writes is contiguous across them (fewer, longer loops vectorise better); an Op kernel's
  // Kernel::domain, unchanged, since its generator hands results over at points of that shape (the root's
  // shape, with a matrix product's leading dimensions merged into its rows).
  const Shape& iterationDomain() const { return domain_; }
  // Evaluates the kernel's elementwise members at one point of iterationDomain(), storing the ones the plan
  // keeps. `known` supplies values already in registers (the root's result).
  void emitMembers(const At& at, std::map<int, llvm::Value*> known);

 private:
  // Element strides of `node` over full_ (the unmerged domain); 0 along broadcast dimensions.
  std::vector<int64_t> stridesOver(int node) const;
  std::vector<int64_t> iterationStrides(int node) const;  // the same over iterationDomain()
  llvm::Value* offset(const At& at, const std::vector<int64_t>& strides);
  void mergeDims();

  llvm::Value* thread_ = nullptr;  // split kernels: the thread's number (i64)
  int threads_ = 1;
  llvm::Value* phase_ = nullptr;     // split sums: 0 for the partial sums, 1 for the totals (i64)
  llvm::Value* partials_ = nullptr;  // split sums: thread 0's partial result; thread t's is partialStride_ on
  int64_t partialStride_ = 0;
  std::map<int, llvm::Value*> buffers_;  // storage node -> pointer argument
  llvm::Value* scratch_;
  unsigned lanes_;
  Shape full_;                            // Loop: the kernel's domain; Op: its root's shape
  Shape domain_;                          // iterationDomain()
  std::vector<std::vector<int>> groups_;  // for each iteration dim, the kernel-domain dims it stands for
};

}  // namespace netc
