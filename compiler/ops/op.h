// One op = one OpDef, defined in one file under compiler/ops/ with its shape rule, gradient rule, reference
// implementation and (elementwise ops) its scalar expression as target-neutral LLVM IR, and listed once in
// registry.cpp. How a backend computes a Kernel-class op is the backend's: the CPU's loop nests are in
// codegen/kernels/, listed per op in codegen/kernels/cpu_kernels.cpp.
#pragma once
#include <span>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace llvm {
class Value;
class IRBuilderBase;
}  // namespace llvm

namespace netc {

// A dense tensor of the reference interpreter: doubles, row-major. Index tensors hold whole numbers.
struct Tensor {
  Shape shape;
  std::vector<double> data;
};

class GradBuilder;       // autodiff/grad_builder.h
struct OpDef;

// One typed attribute of an op: its name, what kind of number it is, where in Attrs (or Node) it is kept and
// its default. The list in OpDef::attrs drives the keyword parsing of a call in .net (lower/), the graph
// printer and the verifier (graph/), so an op's attributes are declared once, beside its shape rule.
struct AttrSpec {
  enum Kind {
    Int,    // any whole number
    Bool,   // 0 or 1
    Axis,   // an axis of the value `of`: in [-rank, rank)
    Index,  // a position or a count: 0 or more
    Shape,  // a list of dimensions (Attrs::shape): each positive or B
    Float,  // a real number (Attrs::value)
    Init,   // a param's or state's initialiser (Node::init)
    Axes,   // a permutation of the axes of the value `of` (permute)
  };
  enum Slot {
    Ints,     // Attrs::ints[index]
    Dims,     // Attrs::shape
    Value,    // Attrs::value
    InitSpec, // Node::init (printed as its text)
    Frozen,   // !Node::trainable
    Lowered,  // a keyword the lowering consumes (keepdim reshapes the result); never stored
    AxisList, // all of Attrs::ints, one entry per axis (permute's axes); no other Ints slot beside it
  };
  const char* name;
  Kind kind;
  Slot slot = Ints;
  int index = 0;          // Slot::Ints: the position in Attrs::ints
  double def = 0;         // the value when a keyword is not given
  bool keyword = false;   // written name=N in a .net call (a Shape attribute: a trailing [dims] list instead)
  // Slot::Ints, the first one only: may be absent, and then Attrs::ints is empty (sum without axis= sums
  // everything, cross_entropy without ignore_index= ignores nothing). Otherwise every Ints slot is stored.
  bool optional = false;
  int of = 0;             // Axis: the input whose axes it names; -1: the node's own result
  const char* (*valueName)(int64_t) = nullptr;  // printed as this word instead of the number (an enum)
  bool bare = false;      // printed as the value alone (const's number), without `name=`
};

// The facts of an activation function the probes and the diagnoses use (runtime/diagnose.cpp, stats):
// declared in the activation's op file.
struct ActivationFacts {
  int64_t probeKind;       // probe::Activation, the layer_stats attribute (ops/probe_layout.h)
  // The gain that keeps a stack of such layers at a steady spread (Kaiming's: 5/3 for tanh, sqrt 2 for relu)
  // and the sentence that says so in a diagnosis.
  double gain;
  const char* gainAdvice;
  // Where the local gradient vanishes: Saturates at both ends of a bounded range (tanh, sigmoid), or
  // DiesAtZero where the output is exactly 0 (relu). Decides which findings apply and how they read.
  enum Flat { Saturates, DiesAtZero } flat;
  bool centredAtHalf;      // outputs in [0, 1], saturated near 0 or 1 (sigmoid); else near -1 or 1 (tanh)
  const char* deadWhy;     // why a dead unit gets no gradient, and what to do about it
  const char* deadFix;
  const char* flatShareKey;  // the stats JSON's name for the flat share as the lecture measures it, or nullptr
};

// Where an index input's values must lie, checked when a batch is fed and trusted by compiled code.
struct IndexBound {
  int input = -1;  // the index input; -1: the op takes none
  enum Limit {
    RowsOfInput0,     // < the first dimension of input 0 (embedding: a row of the table)
    LastDimOfInput0,  // < the last dimension of input 0 (cross_entropy: a class of the logits)
    Attr0,            // < Attrs::ints[0] (scatter_add: the rows of the gradient table)
  } limit = RowsOfInput0;
  // Attrs::ints[0], when present, is a value the op skips and so may appear (cross_entropy's ignore_index).
  bool ignoredValueInAttr0 = false;
};

// What kind of value a Source node is.
enum class SourceKind { None, Input, Param, State, Const, BatchSize };

struct OpDef {
  const char* name;
  const char* summary;      // one line for `netc help ops` and docs
  int minInputs, maxInputs;
  enum Class {
    Source,       // input, param, const: no computation
    Elementwise,  // out[i] = f(in0[bcast i], in1[bcast i], ...): fusable into loops
    Kernel,       // everything else: its own loop nest
  } cls;
  bool internal = false;               // made by the compiler only (gradients, updates); not callable from .net
  // ---- facts about the op that the rest of the compiler and the runtime ask instead of comparing names ----
  std::vector<AttrSpec> attrs;         // its typed attributes, in order (AttrSpec)
  SourceKind source = SourceKind::None;  // Source ops: which kind of value
  // Its result is input 0's storage read with another shape (reshape): no kernel, no buffer of its own.
  bool view = false;
  // Every element of its result is an element of input 0, unchanged (reshape, slice): a bound on the values
  // of the result is a bound on input 0's (index inputs are followed through these).
  bool keepsElements = false;
  // A matrix product (GEMM): the plan hands it elementwise epilogues and scratch, the layout may store its
  // operands transposed, and a team splits its rows.
  bool matrixProduct = false;
  bool selectsMode = false;            // mode(train = a, eval = b): removed by specialisation (modes/)
  IndexBound indexBound;               // its index input and where the index values must lie
  const ActivationFacts* activation = nullptr;  // an activation function probes treat as a layer
  // Probe statistics that reduce over every element (param_stats, value_stats): the order the elements lie
  // in does not matter to them, so the layout pass may transpose what they read.
  bool orderBlind = false;
  // The result follows its inputs through sums and products only (no nonlinearity): the probes follow these
  // back from a layer to the parameters that feed it.
  bool linearPath = false;
  // pad_slice (slice's gradient): zeros with input 0 placed at a slice; autodiff concatenates adjacent ones.
  bool padsWithZeros = false;
  // An optimiser step p - lr * dp: input 0 is the parameter it updates, input 1 that parameter's gradient.
  bool gradientStep = false;
  // A gradient op that shares the kernel of this forward op on the same first two inputs (cross_entropy_grad
  // reuses cross_entropy's row maxima and sums).
  const OpDef* joinsKernelOf = nullptr;
  // A loss of logits (input 0) against targets (input 1): the model's data loss, whose logits the probes, the
  // reports and the evaluation follow (cross_entropy).
  bool dataLoss = false;
  const char* args = nullptr;          // tensor argument names for `netc help ops`; nullptr: x, or a, b
  // State update: the node's value becomes the value of input 0 (a param or state) for the next step. Every
  // engine gives all updates of a step the same semantics: each reads the values the step started with, and
  // the writes land together at its end (the JIT writes in place, after every other reader of the target).
  bool assigns = false;

  // Shape rule: sets node.dtype and node.shape from the inputs; throws via shapeError on mismatch.
  void (*infer)(const Graph& g, Node& node) = nullptr;
  // Gradient rule: dx[i] receives the gradient of input i (or stays -1). nullptr: op is not differentiable.
  void (*grad)(GradBuilder& b, const Node& node, int dy, std::vector<int>& dx) = nullptr;
  // Reference implementation, double precision, for the interpreter.
  void (*eval)(const Node& node, const std::vector<const Tensor*>& in, Tensor& out) = nullptr;
  // Elementwise ops: the scalar function (used by the generic broadcasting eval) ...
  double (*scalar)(const double* args) = nullptr;
  // ... and its LLVM counterpart on float (scalar or vector) values.
  llvm::Value* (*emitScalar)(llvm::IRBuilderBase& b, std::span<llvm::Value* const> args) = nullptr;
};

// Questions about a node's op, for code outside compiler/ops/.
inline bool isInput(const Node& n) { return n.op->source == SourceKind::Input; }
inline bool isParam(const Node& n) { return n.op->source == SourceKind::Param; }
inline bool isState(const Node& n) { return n.op->source == SourceKind::State; }
inline bool isConst(const Node& n) { return n.op->source == SourceKind::Const; }
inline bool isBatchSize(const Node& n) { return n.op->source == SourceKind::BatchSize; }
// The attribute of op named `name`, nullptr when it has none.
const AttrSpec* findAttr(const OpDef& op, std::string_view name);
// A trailing [dims] list is an argument of this op in .net (reshape, broadcast).
bool takesShape(const OpDef& op);
// The bound the op puts on the values of its index input (IndexBound), -1 when it has none.
int64_t indexLimit(const Graph& g, const Node& n);
// The facts of the activation op a layer probe's kind names ("tanh"), nullptr for "value" and any other.
const ActivationFacts* activationFacts(std::string_view kind);
// " name=value ..." of every attribute the node holds, in OpDef::attrs order, for the graph printer.
std::string attrText(const Node& n);
// "" when the node's attributes fit its op's AttrSpecs (count, kinds, ranges), else what is wrong.
std::string attrProblem(const Graph& g, const Node& n);

// The param or state a node writes for the next step (OpDef::assigns), -1 for every other node.
inline int assignTarget(const Node& n) { return n.op->assigns ? n.inputs.at(0) : -1; }

const OpDef* findOp(std::string_view name);
const std::vector<const OpDef*>& allOps();
// Throws "unknown op" with the nearest public op name.
const OpDef& getOp(std::string_view name);

// Shape errors name the node's source line and both operand shapes.
[[noreturn]] void shapeError(const Graph& g, const Node& n, const std::string& msg);

}  // namespace netc
