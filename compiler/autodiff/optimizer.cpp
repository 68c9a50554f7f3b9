#include "autodiff/optimizer.h"

#include <cmath>
#include <fmt/format.h>

#include "ops/op.h"
#include "support/sizes.h"

namespace netc {

const char* optimizerName(OptimizerSpec::Kind k) {
  switch (k) {
    case OptimizerSpec::Sgd: return "sgd";
    case OptimizerSpec::Momentum: return "momentum";
    case OptimizerSpec::Adam: return "adam";
    case OptimizerSpec::AdamW: return "adamw";
  }
  return "?";
}

std::string describeOptimizer(const OptimizerSpec& o) {
  std::string s = optimizerName(o.kind);
  std::vector<std::string> args;
  if (o.kind == OptimizerSpec::Momentum) args.push_back(fmt::format("momentum={:g}{}", o.momentum, o.nesterov ? ", nesterov" : ""));
  if (o.kind == OptimizerSpec::Adam || o.kind == OptimizerSpec::AdamW)
    args.push_back(fmt::format("betas=({:g}, {:g}), eps={:g}", o.beta1, o.beta2, o.eps));
  if (o.weightDecay != 0) args.push_back(fmt::format("weight_decay={:g}", o.weightDecay));
  if (o.clipNorm > 0) args.push_back(fmt::format("clip_norm={:g}", o.clipNorm));
  std::string joined;
  for (auto& a : args) joined += (joined.empty() ? "" : ", ") + a;
  return args.empty() ? s : s + "(" + joined + ")";
}

std::string optimizerStateProblem(const std::string& name, const std::vector<double>& values) {
  if (name == kAdamStepState) {
    const double t = values.empty() ? 0 : values[0];
    if (t < 0 || t != std::floor(t) || t > static_cast<double>(kMaxSteps))
      return fmt::format("Adam's step count is {}, expected a whole number of steps from 0 to {}", t, kMaxSteps);
    return "";
  }
  if (name.ends_with(kAdamSecondMomentSlot))
    for (size_t i = 0; i < values.size(); ++i)
      if (values[i] < 0)
        return fmt::format("element {} is {}, but a second moment (Adam's running mean of squared gradients) is 0 "
                           "or more", i, values[i]);
  return "";
}

namespace {

// Appends update-phase nodes at one source line.
class UpdateBuilder {
 public:
  explicit UpdateBuilder(Graph& g) : g_(g) {}
  SrcLoc loc;
  int op(std::string_view name, std::vector<int> inputs, std::string nodeName = {}) {
    int id = g_.add(&getOp(name), std::move(inputs), {}, loc, std::move(nodeName));
    g_[id].phase = Phase::Update;
    inferNode(g_, id);
    return id;
  }
  int c(double v) {
    Attrs a;
    a.value = v;
    int id = g_.add(&getOp("const"), {}, a, loc);
    g_[id].phase = Phase::Update;
    inferNode(g_, id);
    return id;
  }
  int add(int a, int b) { return op("add", {a, b}); }
  int sub(int a, int b) { return op("sub", {a, b}); }
  int mul(int a, int b) { return op("mul", {a, b}); }
  int div(int a, int b) { return op("div", {a, b}); }
  // A zero-initialised state named `name` shaped like `like`.
  int state(const std::string& name, Shape shape) {  // by value: adding a node may move g_[p].shape
    int id = g_.add(&getOp("state"), {}, {}, loc, name);
    Node& n = g_[id];
    n.phase = Phase::Update;
    n.dtype = DType::F32;
    n.shape = shape;
    n.init.kind = InitSpec::Zeros;
    n.init.text = "zeros";
    n.trainable = false;
    return id;
  }
  int assign(int target, int value) { return op("assign", {target, value}, g_[target].name + ".next"); }

 private:
  Graph& g_;
};

}  // namespace

std::map<int, int> appendOptimizer(Graph& g, const std::map<int, int>& grads, int lr, const OptimizerSpec& o) {
  UpdateBuilder b(g);
  std::map<int, int> next;
  if (grads.empty()) return next;
  // Global gradient-norm clipping: every gradient times min(1, max_norm / (norm + 1e-6)), as torch computes it.
  int clip = -1;
  if (o.clipNorm > 0) {
    int sq = -1;
    for (auto [p, dp] : grads) {
      b.loc = g[p].loc;
      int s = b.op("sum", {b.mul(dp, dp)});
      sq = sq < 0 ? s : b.add(sq, s);
    }
    int norm = b.op("sqrt", {sq}, "grad_norm");
    int coef = b.div(b.c(o.clipNorm), b.add(norm, b.c(1e-6)));
    clip = b.sub(b.c(1), b.op("relu", {b.sub(b.c(1), coef)}));  // min(coef, 1)
  }
  const bool adam = o.kind == OptimizerSpec::Adam || o.kind == OptimizerSpec::AdamW;
  // Adam's bias corrections from the shared step count t (incremented first, as torch does): 1 - beta^t as
  // 1 - exp(t ln beta), and the step lr / (1 - beta1^t) and denominator scale sqrt(1 - beta2^t).
  int stepSize = -1, bc2sqrt = -1;  // lr / (1 - beta1^t), 1 / sqrt(1 - beta2^t)
  if (adam) {
    b.loc = g[grads.begin()->first].loc;
    int t = b.state(kAdamStepState, {});
    int t1 = b.assign(t, b.add(t, b.c(1)));
    int bc1 = b.sub(b.c(1), b.op("exp", {b.mul(t1, b.c(std::log(o.beta1)))}));
    int bc2 = b.sub(b.c(1), b.op("exp", {b.mul(t1, b.c(std::log(o.beta2)))}));
    stepSize = b.div(lr, bc1);
    bc2sqrt = b.op("rsqrt", {bc2});  // 1 / sqrt(1 - beta2^t): a multiply per element instead of a division
  }
  for (auto [p, dp] : grads) {
    b.loc = g[p].loc;
    const std::string name = g[p].name;  // a copy: adding nodes moves g.nodes
    int grad = clip >= 0 ? b.mul(dp, clip) : dp;
    const bool l2 = o.weightDecay != 0 && o.kind != OptimizerSpec::AdamW;
    if (l2) grad = b.add(grad, b.mul(b.c(o.weightDecay), p));
    switch (o.kind) {
      case OptimizerSpec::Sgd:
        next[p] = b.op("sgd", {p, grad, lr}, name + ".next");
        break;
      case OptimizerSpec::Momentum: {
        // buf = momentum * buf + g (torch's first step, buf = g, is the same from a zero buffer); nesterov
        // steps along g + momentum * buf.
        int buf = b.state(name + ".momentum", g[p].shape);
        int buf1 = b.assign(buf, b.add(b.mul(b.c(o.momentum), buf), grad));
        int dir = o.nesterov ? b.add(grad, b.mul(b.c(o.momentum), buf1)) : buf1;
        next[p] = b.op("sgd", {p, dir, lr}, name + ".next");
        break;
      }
      case OptimizerSpec::Adam:
      case OptimizerSpec::AdamW: {
        int m = b.state(name + ".exp_avg", g[p].shape);
        int v = b.state(name + kAdamSecondMomentSlot, g[p].shape);
        int m1 = b.assign(m, b.add(b.mul(b.c(o.beta1), m), b.mul(b.c(1 - o.beta1), grad)));
        int v1 = b.assign(v, b.add(b.mul(b.c(o.beta2), v), b.mul(b.c(1 - o.beta2), b.mul(grad, grad))));
        int denom = b.add(b.mul(b.op("sqrt", {v1}), bc2sqrt), b.c(o.eps));
        int base = p;
        if (o.kind == OptimizerSpec::AdamW && o.weightDecay != 0)  // decoupled: p * (1 - lr * wd) first
          base = b.mul(p, b.sub(b.c(1), b.mul(lr, b.c(o.weightDecay))));
        next[p] = b.assign(p, b.sub(base, b.mul(stepSize, b.div(m1, denom))));
        break;
      }
    }
  }
  return next;
}

}  // namespace netc
