#include "ops/batchnorm.h"

#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>

#include "autodiff/grad_builder.h"
#include "ops/helpers.h"

namespace netc {

namespace {

bool isOp(const Node& n, std::string_view name) { return n.op->name == name; }

// The var node under bn_normalize's third input, rsqrt(var(x) [+ eps]); -1 when the structure is different.
int varUnder(const Graph& g, int rstd) {
  const Node& r = g[rstd];
  if (!isOp(r, "rsqrt")) return -1;
  int v = r.inputs[0];
  if (isOp(g[v], "add") && isOp(g[g[v].inputs[1]], "const")) v = g[v].inputs[0];
  return isOp(g[v], "var") ? v : -1;
}

// bn_normalize(x, m, r) = (x - m) * r, where m and r must be the batch mean and rsqrt(variance [+ eps]) of x over
// axis 0: its gradient rule accounts for their dependence on x itself. The shape rule checks that structure, so
// no rewrite can hand the rule other statistics.
void inferNormalize(const Graph& g, Node& n) {
  const Node& x = g[n.inputs[0]];
  const Node& m = g[n.inputs[1]];
  int v = varUnder(g, n.inputs[2]);
  auto axis0 = [](const Node& r) { return r.attrs.ints.size() == 1 && r.attrs.ints[0] == 0; };
  if (!isOp(m, "mean") || m.inputs[0] != x.id || !axis0(m) || v < 0 || g[v].inputs[0] != x.id || !axis0(g[v]))
    shapeError(g, n, "bn_normalize needs the batch mean and rsqrt(batch variance [+ eps]) of its first input");
  if (x.shape.size() != 2) shapeError(g, n, fmt::format("batchnorm normalises [B, H] values, found {}", shapeStr(x.shape)));
  ops::inferBroadcast(g, n);
}

// dx = r * (dy - sum(dy) / n - xhat * sum(dy * xhat) / (n - c)), with xhat the output and c the variance's
// correction; n is the batch, a constant once bound. With c = 1 this is the issue's
// gamma / sigma / n * (n dy - sum(dy) - n/(n-1) xhat sum(dy xhat)) once dy carries gamma.
void gradNormalize(GradBuilder& b, const Node& n, int dy, std::vector<int>& dx) {
  const Graph& g = b.graph();
  const int xhat = n.id, r = n.inputs[2];
  const double c = g[varUnder(g, r)].attrs.value;
  Attrs axis0;
  axis0.ints = {0};
  int s1 = b.op("sum", {dy}, axis0);
  int s2 = b.op("sum", {b.mul(dy, xhat)}, axis0);
  // The rows: B's value (times k for [B*k, H], batchnorm over (0, 1)) once bound, or the number itself when the
  // graph is differentiated after binding.
  const int64_t rows = g[n.inputs[0]].shape[0];
  int count = rows == kBatch ? b.op("batch_size", {})
              : isBatchDim(rows) ? b.mul(b.constant(static_cast<double>(batchFactor(rows))), b.op("batch_size", {}))
                                 : b.constant(static_cast<double>(rows));
  int a = b.div(s1, count);
  int k = b.div(s2, b.sub(count, b.constant(c)));
  dx[0] = b.mul(r, b.sub(b.sub(dy, a), b.mul(xhat, k)));
}

// Appends nodes at one source line; the update nodes are marked by phase().
struct Builder {
  Graph& g;
  SrcLoc loc;
  Phase phase = Phase::Forward;
  int op(std::string_view name, std::vector<int> in, Attrs at = {}) {
    int id = g.add(&getOp(name), std::move(in), std::move(at), loc);
    g[id].phase = phase;
    inferNode(g, id);
    return id;
  }
  int c(double v) {
    Attrs a;
    a.value = v;
    return op("const", {}, a);
  }
  int reduce(std::string_view name, int x, double correction = 0) {
    Attrs a;
    a.ints = {0};
    a.value = correction;
    return op(name, {x}, a);
  }
  int add(int a, int b) { return op("add", {a, b}); }
  int sub(int a, int b) { return op("sub", {a, b}); }
  int mul(int a, int b) { return op("mul", {a, b}); }
  int div(int a, int b) { return op("div", {a, b}); }
  // 1 / sqrt(v + eps), without the add when eps is 0.
  int rsqrtEps(int v, double eps) { return op("rsqrt", {eps != 0 ? add(v, c(eps)) : v}); }
  // (1 - momentum) * running + momentum * batch
  int blend(int running, int batch, double momentum) {
    return add(mul(c(1 - momentum), running), mul(c(momentum), batch));
  }
};

}  // namespace

int buildBatchnorm(Graph& g, const BatchnormArgs& a, const BatchnormOptions& o, SrcLoc loc, SrcSpan span) {
  auto bad = [&](const std::string& msg) { fail(g.source, loc, msg); };
  const Shape xs = g[a.x].shape;
  if (xs.size() != 2 || g[a.x].dtype != DType::F32)
    bad(fmt::format("batchnorm normalises float [B, H] values over the batch, but {} is {}{}", g.describe(a.x),
                    dtypeName(g[a.x].dtype), shapeStr(xs)));
  const Shape unit = {xs[1]};
  const char* roles[] = {"gamma", "beta", "running mean", "running variance"};
  int args[] = {a.gamma, a.beta, a.runningMean, a.runningVar};
  for (int i = 0; i < 4; ++i) {
    if (g[args[i]].shape != unit)
      bad(fmt::format("batchnorm's {} must have one value per unit, shape {}, but {} is {}", roles[i], shapeStr(unit),
                      g.describe(args[i]), shapeStr(g[args[i]].shape)));
    if (i >= 2 && !isOp(g[args[i]], "state"))
      bad(fmt::format("batchnorm's {} must be a state (`state {} : {} = {}`): the step updates it without a "
                      "gradient", roles[i], g[args[i]].name.empty() ? "NAME" : g[args[i]].name, shapeStr(unit),
                      i == 2 ? "zeros" : "ones"));
  }
  if (!(o.momentum >= 0 && o.momentum <= 1)) bad(fmt::format("batchnorm's momentum must lie in [0, 1], found {}", o.momentum));
  if (!(o.eps >= 0)) bad(fmt::format("batchnorm's eps must be 0 or more, found {}", o.eps));
  for (double c : {o.correction, o.runningCorrection})
    if (c != 0 && c != 1) bad(fmt::format("batchnorm's corrections are 0 (biased) or 1 (unbiased), found {}", c));

  Builder b{g, loc};
  // Train form: the batch's statistics.
  const int mean = b.reduce("mean", a.x);
  const int var = b.reduce("var", a.x, o.correction);
  const int xhat = b.op("bn_normalize", {a.x, mean, b.rsqrtEps(var, o.eps)});
  const int train = b.add(b.mul(a.gamma, xhat), a.beta);
  // Eval form: one scale and shift per unit from the running statistics.
  const int spread = o.runningStd ? b.mul(a.runningVar, a.runningVar) : a.runningVar;
  const int scale = o.runningStd && o.eps == 0 ? b.div(a.gamma, a.runningVar) : b.mul(a.gamma, b.rsqrtEps(spread, o.eps));
  const int shift = b.sub(a.beta, b.mul(a.runningMean, scale));
  const int eval = b.add(b.mul(a.x, scale), shift);
  const int out = b.op("mode", {train, eval});
  g[out].span = span;
  // Updates of the running statistics.
  b.phase = Phase::Update;
  int stored = o.runningCorrection == o.correction ? var : b.reduce("var", a.x, o.runningCorrection);
  if (o.runningStd) stored = b.op("sqrt", {stored});
  int nextMean = b.op("assign", {a.runningMean, b.blend(a.runningMean, mean, o.momentum)});
  int nextVar = b.op("assign", {a.runningVar, b.blend(a.runningVar, stored, o.momentum)});
  g[nextMean].name = g[a.runningMean].name + ".next";
  g[nextVar].name = g[a.runningVar].name + ".next";
  return out;
}

namespace ops {

extern const OpDef kBnNormalize{
    .name = "bn_normalize", .summary = "(x - mean) * rstd with the batch statistics of x (made by batchnorm)",
    .minInputs = 3, .maxInputs = 3, .cls = OpDef::Elementwise, .internal = true,
    .infer = inferNormalize,
    .grad = gradNormalize,
    .eval = evalElementwise,
    .scalar = [](const double* a) { return (a[0] - a[1]) * a[2]; },
    .emitScalar = [](llvm::IRBuilderBase& b, std::span<llvm::Value* const> a) {
      return b.CreateFMul(b.CreateFSub(a[0], a[1]), a[2]);
    }};

}  // namespace ops
}  // namespace netc
