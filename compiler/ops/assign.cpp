#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "ops/helpers.h"

namespace netc::ops {

// assign(s, v): v (broadcast to s's shape) is the value of state s in the next step. Made by `update s = v` and
// by the optimizers for their moments. It has no gradient: updates lie off every path to the loss.
extern const OpDef kAssign{
    .name = "assign", .summary = "the next value of a state (update s = v)", .minInputs = 2, .maxInputs = 2,
    .cls = OpDef::Elementwise, .internal = true, .assigns = true,
    .infer = [](const Graph& g, Node& n) {
      const Node& target = g[n.inputs[0]];
      const Node& value = g[n.inputs[1]];
      std::string_view op = target.op->name;
      if (op != "state" && op != "param")
        shapeError(g, n, fmt::format("only a state can be updated, but {} is the result of '{}'", g.valueName(target.id), op));
      inferBroadcast(g, n);
      if (n.shape != target.shape)
        shapeError(g, n, fmt::format("the update of {} has shape {}, but the state is declared {}",
                                     g.valueName(target.id), shapeStr(value.shape), shapeStr(target.shape)));
    },
    .eval = evalElementwise,
    .scalar = [](const double* a) { return a[1]; },
    .emitScalar = [](llvm::IRBuilderBase&, std::span<llvm::Value* const> a) { return a[1]; }};

}  // namespace netc::ops
