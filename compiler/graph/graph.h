// The static graph in SSA form: every node produces exactly one value with a dtype and a shape,
// inputs come before uses, and every node remembers the .net line it came from.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "graph/scope_path.h"
#include "graph/shape.h"
#include "support/diag.h"

namespace netc {

struct OpDef;

// Per-node attributes. What each field means for an op is declared by its OpDef::attrs (ops/op.h, AttrSpec).
struct Attrs {
  std::vector<int64_t> ints;  // e.g. matmul {transA, transB}, sum {axis}
  Shape shape;                // reshape / sum_to target
  double value = 0;           // const
};

// One multiplication or division of an initialiser by a constant, in the order written: `randn * (5/3) /
// sqrt(30)` is {*, 5/3}, {/, sqrt(30)}. netc's own generator only needs their product (`scale`); the torch
// generator applies them one by one in float32, as `torch.randn(...) * (5/3) / 30**0.5` rounds after each.
struct InitStep {
  bool divide = false;
  double by = 1;
};

// One operation of an initialiser, in evaluation order (postfix, as Python evaluates the expression): a draw
// or a constant pushes a value, Add/Sub/Mul/Div pop two and push the result, Neg replaces the top one.
struct InitOp {
  enum Kind { Randn, Normal, Uniform, Zeros, Ones, Constant, Add, Sub, Mul, Div, Neg } kind = Zeros;
  double a = 0, b = 0;  // Normal: mean, std; Uniform: low, high; Constant: the value in a
};

// How a parameter starts: an expression of draws and constants (`program`). The common form, one distribution
// times constants, is also summarised by kind, a, b, scale and steps (kind Expression for any other form).
struct InitSpec {
  enum Kind { Randn, Zeros, Ones, Uniform, Expression } kind = Zeros;
  double a = 0, b = 0;  // uniform bounds
  double scale = 1;
  std::vector<InitStep> steps;  // whose product is scale
  // The whole initialiser; empty for the tensors the compiler declares itself (the optimizer's moments), which
  // the summary describes (runtime/training/init.cpp evaluates `program` when it is given, else the summary).
  std::vector<InitOp> program;
  bool global = false;  // marked `global`: drawn from the train section's second stream (global_seed)
  std::string text;     // as written, for the printer
  SrcLoc loc;           // the initialiser expression
};

// Which statistics a probe collects (issue: instrumented nodes).
struct ProbeSpec {
  bool hist = true, saturation = true, dead = true, stats = true;
  bool marked = false;  // written with @probe (else one of the default probes)
};

// Probe: statistics appended by the instrumentation pass (instrument/); they feed nothing else.
enum class Phase { Forward, Backward, Update, Probe };

struct Node {
  int id = -1;
  const OpDef* op = nullptr;
  std::vector<int> inputs;
  Attrs attrs;
  DType dtype = DType::F32;
  Shape shape;
  std::string name;  // the .net name, or "" for intermediates
  SrcLoc loc;
  SrcSpan span;      // the expression it was lowered from, for messages; empty for nodes the compiler made
  Phase phase = Phase::Forward;
  int gradOf = -1;  // backward nodes: the forward node whose gradient rule made this node
  // The scopes it was made in (graph/scope_path.h): a loop step for the nodes of an unrolled `for` body; empty
  // at the top level. Backward nodes leave it empty: their forward node (gradOf) has the scope.
  ScopePath scope;
  // params and states only
  InitSpec init;
  bool trainable = true;
  std::optional<ProbeSpec> probe;
};

class Graph {
 public:
  SourceRef source;
  std::vector<Node> nodes;  // topological: inputs of node i all have ids < i
  int loss = -1;            // the minimized scalar

  int add(const OpDef* op, std::vector<int> inputs, Attrs attrs, SrcLoc loc, std::string name = {});
  const Node& operator[](int id) const { return nodes.at(id); }
  Node& operator[](int id) { return nodes.at(id); }
  int size() const { return static_cast<int>(nodes.size()); }

  std::vector<int> params() const;    // all param nodes, in declaration order
  std::vector<int> states() const;    // all state nodes (declared and optimizer-made), in order
  std::vector<int> persistent() const;  // params and states: what a step carries over and a checkpoint saves
  std::vector<int> inputs() const;    // all input nodes, in declaration order
  int find(std::string_view name) const;  // node id by .net name, -1 when none
  std::string valueName(int id) const;    // "%h" or "%12"
  // For messages: "%h" for a named value, otherwise what it is: "the result of 'flat @ W1'" (the expression as
  // written, shortened past 60 characters), "the constant 2", or, for nodes the compiler made,
  // "the result of matmul(%h, %W2)".
  std::string describe(int id) const;
};

// Shape inference for one node from its inputs (calls the op's shape rule); throws on mismatch.
void inferNode(Graph& g, int id);
// Checks SSA order, arity, dtypes and shapes of every node; throws netc::Error naming the node.
void verify(const Graph& g);
// Stable, diffable text; golden tests depend on its format.
std::string printGraph(const Graph& g);

// The largest batch size at which every value of g (shapes with B, and shape attributes) still holds at most
// kMaxElements (support/sizes.h); a graph without B allows any. Lowering checks the train section's batch
// against it, the commands their --batch, bindBatch every batch.
int64_t maxBatch(const Graph& g);
// "" when `batch` is allowed, else why not: "batch size N is too large: 'h' ([B,200]) would hold ..."
std::string batchProblem(const Graph& g, int64_t batch);

}  // namespace netc
