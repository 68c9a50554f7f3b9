// The op registry: one line per op. Adding an op = one file under compiler/ops/ plus one line here.
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {
namespace ops {
extern const OpDef kInput, kParam, kState, kConst, kBatchSize;
extern const OpDef kAdd, kSub, kMul, kDiv, kNeg, kPow;
extern const OpDef kTanh, kSigmoid, kExp, kLog, kRelu, kStep, kSqrt, kRsqrt;
extern const OpDef kMatmul, kTranspose, kEmbedding, kScatterAdd, kReshape, kPermute;
extern const OpDef kSlice, kPadSlice, kConcat, kBroadcastTo;
extern const OpDef kSum, kMean, kVar, kExpand, kSumTo, kMax, kMaxGrad, kPick, kPickGrad;
extern const OpDef kCrossEntropy, kCrossEntropyGrad, kOnehot, kSgd;
extern const OpDef kAssign, kMode, kBnNormalize, kFolded;
extern const OpDef kLayerStats, kGradStats, kValueStats, kParamStats, kAbsGt;
}  // namespace ops

const std::vector<const OpDef*>& allOps() {
  using namespace ops;
  static const std::vector<const OpDef*> all = {
      &kInput, &kParam, &kState, &kConst, &kBatchSize,        // sources
      &kAdd, &kSub, &kMul, &kDiv, &kNeg, &kPow,               // arithmetic
      &kTanh, &kSigmoid, &kExp, &kLog, &kRelu, &kStep,        // activations
      &kSqrt, &kRsqrt,                                        // roots
      &kMatmul, &kTranspose, &kEmbedding, &kScatterAdd,       // linear algebra
      &kReshape, &kPermute,                                   // layout
      &kSlice, &kPadSlice, &kConcat, &kBroadcastTo,           // sequences: slicing, concatenation, broadcast
      &kSum, &kMean, &kVar, &kExpand, &kSumTo,                // reductions
      &kMax, &kMaxGrad, &kPick, &kPickGrad,                   // the largest value, one value per row
      &kCrossEntropy, &kCrossEntropyGrad, &kOnehot,           // losses
      &kSgd,                                                  // optimiser
      &kAssign, &kMode,                                       // state and modes
      &kBnNormalize,                                          // batchnorm (ops/batchnorm.h)
      &kFolded,                                               // code generator: fused formulas
      &kLayerStats, &kGradStats, &kValueStats, &kParamStats, &kAbsGt,     // probe statistics (instrument/)
  };
  return all;
}

const OpDef* findOp(std::string_view name) {
  for (const OpDef* op : allOps())
    if (name == op->name) return op;
  return nullptr;
}

const OpDef& getOp(std::string_view name) {
  if (const OpDef* op = findOp(name)) return *op;
  fail(fmt::format("internal error: no op named '{}'", name));
}

}  // namespace netc
