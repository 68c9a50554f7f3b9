// Lowering's internal state, shared by the files of compiler/lower/ that each lower one part of a .net file:
//   lower.cpp         the statements in order, names (definition, lookup, "unknown identifier"), loadModel
//   fold.cpp          constant expressions, whole-number settings, dimensions and shapes
//   declarations.cpp  input, param and state declarations, initialisers, `update`, annotations
//   expressions.cpp   tensor expressions, operators and calls (keywords, mode, batchnorm, keepdim)
//   sections.cpp      the data, train and sample sections
//   finish.cpp        after the last statement: the data loss, the logits, the default probes, final checks
//   slicing.cpp       x[i, a:b, :] along axes
//   shape_calls.cpp   reshape with -1, permute, unsqueeze/squeeze, reductions over axis tuples, batchnorm's axes
//   loop.cpp          the unrolled `for` loop (nested ones too): carried values, stacked values
//   block.cpp         blocks: their definitions, and each use as a copy of the body in a scope of its own
//   scope.cpp         the chain of scopes names are looked up in (lower/scope.h)
// Nothing outside compiler/lower/ includes this header; the interface is lower/model.h.
#pragma once
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lang/ast.h"
#include "lower/builtins.h"
#include "lower/model.h"
#include "lower/scope.h"
#include "ops/batchnorm.h"
#include "support/whole.h"

namespace netc {

class Lowerer {
 public:
  Lowerer(const Module& m, const LowerOptions& opts) : m_(m), src_(m.source), opts_(opts) {}
  Model run();

 private:
  // ---- errors and names (lower.cpp) ----
  [[noreturn]] void err(SrcLoc loc, const std::string& msg) { fail(src_, loc, msg); }
  std::vector<std::string> knownNames() const;
  [[noreturn]] void unknownName(const Expr& e);
  void defineName(const std::string& name, SrcLoc loc);
  void statement(const Stmt& s);

  // ---- constant expressions (fold.cpp) ----
  double constEval(const Expr& e) { return fold(e).value; }
  Folded fold(const Expr& e);
  bool isConstExpr(const Expr& e) const;
  Whole constWhole(const Expr& e, std::string_view what, Whole min, Whole max);
  int64_t constInt(const Expr& e, std::string_view what, int64_t min, int64_t max = kMaxWholeNumber);
  uint64_t constSeed(const Expr& e, std::string_view what);
  int64_t dim(const Expr& e, bool allowBatch);
  // allowMultiple: a dimension may be k·B (B*4); an input's may only be B itself.
  Shape shape(const std::vector<ExprPtr>& dims, bool allowBatch, bool allowMultiple = true);
  int64_t batchMultiple(const Expr& e);
  void checkSize(const Shape& s, SrcLoc loc);

  // ---- declarations (declarations.cpp) ----
  void declareTensor(const Stmt& s, std::string_view op, bool trainable);
  void update(const Stmt& s);
  void annotate(int id, const Annotation& a);
  InitSpec initSpec(const Expr& e);
  bool initProgram(const Expr& e, std::vector<InitOp>& program, int& draws, bool& plusMinus);
  const Builtin& initialiserDraw(const Expr& e);
  double initScale(const Expr& e, InitSpec& spec, bool& found);
  void checkInitialiserForm(const Expr& e, const Builtin& dist);
  std::string exprText(const Expr& e);

  // ---- tensor expressions (expressions.cpp) ----
  int add(std::string_view op, std::vector<int> inputs, Attrs attrs, SrcLoc loc, SrcSpan span = {});
  int constant(double v, SrcLoc loc);
  int tensor(const Expr& e);
  int power(const Expr& e);
  int product(const Expr& e);
  std::vector<std::string> publicOps() const;
  int modeCall(const Expr& e);
  int batchnormCall(const Expr& e);
  int call(const Expr& e);
  int keepDim(int reduced, int x, const Attrs& attrs, const Expr& e);

  // ---- shape calls (shape_calls.cpp) ----
  struct CallArgs {
    std::vector<int> tensors;                       // the positional tensor arguments, lowered
    const Expr* list = nullptr;                     // the trailing [list]
    std::map<std::string, const Expr*> keywords;    // keyword -> its expression
  };
  CallArgs callArgs(const Expr& e, const std::vector<std::string>& keys, size_t tensors, bool list);
  std::vector<int64_t> axesOf(const Expr& e, size_t rank, std::string_view what);
  int reshapeTo(int x, const Shape& to, SrcLoc loc, SrcSpan span);
  int permuteTo(int x, const std::vector<int64_t>& axes, SrcLoc loc, SrcSpan span);
  int mergeAxes(int x, std::vector<int64_t> reduced, int64_t& axis, SrcLoc loc);
  int reshapeCall(const Expr& e);
  int permuteCall(const Expr& e);
  int unsqueezeCall(const Expr& e, bool insert);
  bool reducesAxisTuple(const Expr& e) const;
  int reduceOverAxes(const Expr& e);
  int batchnormOverAxes(const BatchnormArgs& args, const std::vector<int64_t>& axes, const BatchnormOptions& o,
                        const Expr& e);

  // ---- sections (sections.cpp) ----
  const SectionEntry* entry(const Stmt& s, std::string_view key);
  void checkKeys(const Stmt& s, const std::vector<std::string>& keys);
  const Expr& single(const SectionEntry& e);
  void data(const Stmt& s);
  void trainSection(const Stmt& s);
  size_t choice(const Expr& v, const char* setting, const std::vector<std::string>& options);
  void optimizerSettings(const Stmt& s, TrainSpec& t);
  void sampleSection(const Stmt& s);

  // ---- after the last statement (finish.cpp) ----
  void finish();

  // ---- sequences (slicing.cpp, loop.cpp) ----
  int sliceIndex(const Expr& e);
  // The loop being unrolled: its variable, the values it carries, what its body stacks.
  struct Loop {
    std::string var;
    int line = 0;
    int64_t first = 0, count = 0, step = 0;
    std::map<std::string, int> carried;       // name -> the value before the loop (its shape must not change)
    struct Stack {
      int axis = -1;
      SrcLoc loc;
      std::vector<int> pieces;                // one per step
    };
    std::map<std::string, Stack> stacks;      // hs[:, t] = h
  };
  // The loops being unrolled, outermost first (a deque: a nested loop's push keeps the outer one in place).
  // A block's body starts with none of its caller's: its assignments are the instance's own.
  std::deque<Loop> loops_;
  void forLoop(const Stmt& s);
  void loopAssign(const Stmt& s);
  void stackAssign(const Stmt& s);

  // ---- blocks (block.cpp) ----
  void collectBlocks();
  int blockUse(const Expr& e, const Stmt& def);
  std::string instancePath(const Expr& e, const Stmt& def);
  void checkPathClash(const std::string& path, const Expr& e);
  std::string persistentName(const std::string& local) const;  // layers.0.W in the instance layers.0
  std::vector<std::string> blockNames() const;
  std::map<std::string, const Stmt*> blocks_;       // the file's block definitions by name
  struct BlockUse {
    const Stmt* def;
    SrcLoc loc;
    std::string path;
  };
  std::vector<BlockUse> activeBlocks_;              // the uses being lowered, outermost first
  std::map<std::string, int> useCounts_;            // block name -> uses so far
  std::map<std::string, int> instancePaths_;        // instance path -> the line of its use
  std::map<std::string, int> pathRoots_;            // the first part of every instance path -> a line using it

  const Module& m_;
  SourceRef src_;
  LowerOptions opts_;
  Model model_;
  // The names in scope (lower/scope.h): the file's top level, and the step of a loop body being lowered.
  Scope fileScope_;
  Scope* scope_ = &fileScope_;
  std::map<std::string, int> laterDefs_;
  std::map<int, int> updated_;  // state node -> line of its update
  std::string currentDef_;
  SrcLoc minimizeLoc_;
  SrcLoc batchLoc_;  // the train section's batch setting, when given
  bool haveData_ = false;
  bool markedProbesOnly_ = false;     // train { probes = marked }
  std::vector<int> batchnormOutputs_;  // probed by default
};

}  // namespace netc
