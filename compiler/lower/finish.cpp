// Lowering, after the last statement: the minimized value, the data loss and its logits, the default probes,
// and the checks that need the whole graph (verify, the torch generator's initialisers, the batch size).
#include <algorithm>
#include <fmt/format.h>

#include "lower/lowerer.h"
#include "ops/op.h"

namespace netc {

void Lowerer::finish() {
  Graph& g = model_.graph;
  if (g.loss < 0) {
    // Point at the value most likely meant (one named 'loss'), else at the last statement.
    SrcLoc at;
    bool haveLoss = false;
    for (const Stmt& s : m_.stmts) {
      if (!haveLoss) at = s.kind == Stmt::Assign ? s.nameLoc : s.loc;
      if (s.kind == Stmt::Assign && s.name == "loss") at = s.nameLoc, haveLoss = true;
    }
    fail(src_, at, fmt::format("no 'minimize' statement: say which scalar to train, e.g. `minimize {}`{}",
                               haveLoss ? "loss" : "NAME", haveLoss ? " after this line" : ""));
  }
  // The data loss: the cross-entropy the minimized value contains (itself, or one term of a regularised sum).
  // Split losses report it, and its logits are what sampling draws from.
  std::vector<bool> toLoss(g.size(), false);
  toLoss[g.loss] = true;
  std::vector<int> ces;
  for (int i = g.loss; i >= 0; --i) {
    if (!toLoss[i]) continue;
    if (g[i].op->dataLoss) ces.push_back(i);
    for (int in : g[i].inputs) toLoss[in] = true;
  }
  if (ces.size() == 1) {
    const Node& ce = g[ces[0]];
    model_.dataLoss = ce.id;
    model_.logits = ce.inputs[0];
    model_.targetInput = ce.inputs[1];
  } else if (ces.size() > 1) {
    err(g[ces[1]].loc, fmt::format("the minimized value contains {} cross-entropies (lines {} and {}): netc reports "
                                   "one data loss per split, so one cross_entropy may feed the loss",
                                   ces.size(), g[ces[1]].loc.line, g[ces[0]].loc.line));
  }
  for (int id : g.inputs())
    if (g[id].dtype == DType::I32 && id != model_.targetInput) model_.contextInput = id;
  // The default probes, beside the values marked @probe (whose own spec stands): every activation layer,
  // every BatchNorm output and the logits; with `probes = marked` the logits only.
  auto isBatchnorm = [&](int id) {
    return std::find(batchnormOutputs_.begin(), batchnormOutputs_.end(), id) != batchnormOutputs_.end();
  };
  // Logits that copy a value unchanged (a block's result, named by its caller: `logits = Output(h) as out`) are
  // that value: it is not probed a second time.
  int copiedIntoLogits = -1;
  if (model_.logits >= 0) {
    const Node& logits = g[model_.logits];
    if (logits.op == &getOp("reshape") && g[logits.inputs[0]].shape == logits.shape) copiedIntoLogits = logits.inputs[0];
  }
  auto byDefault = [&](const Node& n) {
    if (n.id == model_.logits) return true;
    if (markedProbesOnly_ || n.id == copiedIntoLogits) return false;
    return n.op->activation || isBatchnorm(n.id);
  };
  for (Node& n : g.nodes) {
    if (n.probe || !byDefault(n)) continue;
    n.probe = ProbeSpec{};
    // An unnamed default probe (deep_batchnorm.net's `tanh(batchnorm(...))`) is named after what it is and where,
    // so the statistics say "batchnorm@52", not "%145"; '@' keeps it apart from any name a file can write. In a
    // loop body each step's is qualified like a named value's ("tanh@52@t3"), so the steps stay apart.
    if (n.name.empty() && n.id != model_.logits)
      n.name = qualifiedName(fmt::format("{}@{}", isBatchnorm(n.id) ? "batchnorm" : std::string(n.op->name), n.loc.line),
                             n.scope);
  }
  verify(g);
  // The second stream has no default seed (model.h): a declaration drawn from it needs the setting.
  if (!model_.train.globalSeed)
    for (int p : g.persistent())
      if (g[p].init.global)
        err(g[p].loc, fmt::format("'{}' is marked global, drawn from the second stream, but the train section "
                                       "sets no global_seed: give it the seed the script passes to "
                                       "torch.manual_seed, e.g. global_seed = 42", g[p].name));
  // The batch size is known now that every shape is: one that would make a value outgrow kMaxElements is an
  // error at the setting, not an overflow in the storage plan.
  if (std::string why = batchProblem(g, model_.train.batch); !why.empty()) {
    if (batchLoc_.line > 0) err(batchLoc_, why);
    fail(src_, {}, why);
  }
}

}  // namespace netc
