// folded(x): a node of a formula that a fused kernel computes along with the formula's result, so it computes
// nothing itself (the code generator's copy of the graph only: ops/cross_entropy.h, fuseGradFormulas). It is
// a view of its input so that every pass gives it no kernel and no buffer; nothing reads it. The only internal
// view: the layout verifier knows it by that (pipeline/verify_plan.cpp).
#include "ops/op.h"

namespace netc::ops {

extern const OpDef kFolded{
    .name = "folded", .summary = "a formula's node computed inside a fused kernel (code generator only)",
    .minInputs = 1, .maxInputs = 1, .cls = OpDef::Kernel, .internal = true,
    .view = true,
    .keepsElements = true,  // as every view's (op_facts_test); vacuous here: nothing reads a folded node
    .infer = [](const Graph&, Node&) {}};  // keeps the type it had

}  // namespace netc::ops
