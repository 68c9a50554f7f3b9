#include "runtime/training/init_program.h"

#include <fmt/format.h>

#include "support/diag.h"

// Compiled with -ffp-contract=off (runtime/CMakeLists.txt): PyTorch rounds after every tensor operation, so
// `t * 0.1 + 1` must not become one fused multiply-add.

namespace netc {

std::vector<InitOp> initProgramOf(const InitSpec& init) {
  if (!init.program.empty()) return init.program;
  std::vector<InitOp> program;
  switch (init.kind) {
    case InitSpec::Randn: program.push_back({InitOp::Randn}); break;
    case InitSpec::Zeros: program.push_back({InitOp::Zeros}); break;
    case InitSpec::Ones: program.push_back({InitOp::Ones}); break;
    case InitSpec::Uniform: program.push_back({InitOp::Uniform, init.a, init.b}); break;
    case InitSpec::Expression: fail("internal error: an initialiser expression without its program");
  }
  for (const InitStep& s : init.steps) {
    program.push_back({InitOp::Constant, s.by});
    program.push_back({s.divide ? InitOp::Div : InitOp::Mul});
  }
  // A summary made by hand (tests, the optimizer) may give a scale without steps.
  if (init.steps.empty() && init.scale != 1) {
    program.push_back({InitOp::Constant, init.scale});
    program.push_back({InitOp::Mul});
  }
  return program;
}

namespace {

bool isDraw(InitOp::Kind k) {
  return k == InitOp::Randn || k == InitOp::Normal || k == InitOp::Uniform || k == InitOp::Zeros || k == InitOp::Ones;
}

// Pops the two operands of a binary operation; a program from lowering always has them.
template <typename Value>
std::pair<Value, Value> popTwo(std::vector<Value>& stack) {
  if (stack.size() < 2) fail("internal error: an initialiser program pops an empty stack");
  Value b = std::move(stack.back());
  stack.pop_back();
  Value a = std::move(stack.back());
  stack.pop_back();
  return {std::move(a), std::move(b)};
}

// A value of netc's evaluation: a constant, or a tensor `data * scale` whose scale is applied lazily.
struct NetcValue {
  bool tensor = false;
  double constant = 0;
  std::vector<double> data;
  double scale = 1;
  void materialise() {
    if (scale != 1)
      for (double& d : data) d *= scale;
    scale = 1;
  }
};

template <typename T, typename F>
void combine(std::vector<T>& a, const std::vector<T>& b, F f) {
  for (size_t i = 0; i < a.size(); ++i) a[i] = f(a[i], b[i]);
}

// A binary operation in double, the scale still pending for products and quotients by a constant.
NetcValue netcBinary(InitOp::Kind kind, NetcValue a, NetcValue b) {
  const bool product = kind == InitOp::Mul || kind == InitOp::Div;
  if (product && a.tensor && !b.tensor) {
    a.scale = kind == InitOp::Mul ? a.scale * b.constant : a.scale / b.constant;
    return a;
  }
  if (kind == InitOp::Mul && !a.tensor && b.tensor) {
    b.scale = a.constant * b.scale;
    return b;
  }
  if (a.tensor) a.materialise();
  if (b.tensor) b.materialise();
  auto op = [kind](double x, double y) {
    switch (kind) {
      case InitOp::Add: return x + y;
      case InitOp::Sub: return x - y;
      case InitOp::Mul: return x * y;
      default: return x / y;
    }
  };
  if (!a.tensor) {  // c + t, c - t, c * t
    for (double& d : b.data) d = op(a.constant, d);
    return b;
  }
  if (!b.tensor) {
    for (double& d : a.data) d = op(d, b.constant);
    return a;
  }
  combine(a.data, b.data, op);
  return a;
}

// A value of torch's evaluation: a Python number, or a float32 tensor.
struct TorchValue {
  bool tensor = false;
  double constant = 0;
  std::vector<float> data;
};

// `a OP b` as PyTorch computes it on float32 tensors: a Python number is rounded to float, the result is
// rounded once per element.
TorchValue torchBinary(InitOp::Kind kind, TorchValue a, TorchValue b) {
  auto op = [kind](float x, float y) -> float {
    switch (kind) {
      case InitOp::Add: return x + y;
      case InitOp::Sub: return x - y;
      case InitOp::Mul: return x * y;
      default: return x / y;
    }
  };
  if (!a.tensor) {  // c + t, c * t (commutative, as __radd__ and __rmul__ compute them), c - t (rsub)
    const float c = static_cast<float>(a.constant);
    for (float& d : b.data) d = op(c, d);
    return b;
  }
  if (!b.tensor) {
    const float c = static_cast<float>(b.constant);
    for (float& d : a.data) d = op(d, c);
    return a;
  }
  combine(a.data, b.data, op);
  return a;
}

}  // namespace

std::vector<double> evalInitNetc(const InitSpec& init, int64_t n, Rng& rng) {
  std::vector<NetcValue> stack;
  for (const InitOp& op : initProgramOf(init)) {
    if (op.kind == InitOp::Constant) {
      stack.push_back({.constant = op.a});
    } else if (isDraw(op.kind)) {
      NetcValue v{.tensor = true, .data = std::vector<double>(static_cast<size_t>(n))};
      for (double& d : v.data) {
        switch (op.kind) {
          case InitOp::Randn: d = rng.normal(); break;
          case InitOp::Normal: d = op.a + op.b * rng.normal(); break;
          case InitOp::Uniform: d = op.a + (op.b - op.a) * rng.uniform(); break;
          case InitOp::Zeros: d = 0; break;
          default: d = 1; break;
        }
      }
      stack.push_back(std::move(v));
    } else if (op.kind == InitOp::Neg) {
      if (stack.empty()) fail("internal error: an initialiser program pops an empty stack");
      stack.back().scale = -1 * stack.back().scale;
    } else {
      auto [a, b] = popTwo(stack);
      stack.push_back(netcBinary(op.kind, std::move(a), std::move(b)));
    }
  }
  if (stack.size() != 1 || !stack.back().tensor) fail("internal error: an initialiser program leaves no tensor");
  stack.back().materialise();
  return std::move(stack.back().data);
}

std::vector<float> evalInitTorch(const InitSpec& init, int64_t n, TorchGenerator& gen) {
  std::vector<TorchValue> stack;
  for (const InitOp& op : initProgramOf(init)) {
    switch (op.kind) {
      case InitOp::Constant: stack.push_back({.constant = op.a}); break;
      case InitOp::Randn: stack.push_back({.tensor = true, .data = gen.randn(n)}); break;
      case InitOp::Normal: stack.push_back({.tensor = true, .data = gen.normal(n, op.a, op.b)}); break;
      case InitOp::Uniform: stack.push_back({.tensor = true, .data = gen.uniform(n, op.a, op.b)}); break;
      case InitOp::Zeros: stack.push_back({.tensor = true, .data = std::vector<float>(static_cast<size_t>(n), 0.0f)}); break;
      case InitOp::Ones: stack.push_back({.tensor = true, .data = std::vector<float>(static_cast<size_t>(n), 1.0f)}); break;
      case InitOp::Neg:
        if (stack.empty()) fail("internal error: an initialiser program pops an empty stack");
        for (float& d : stack.back().data) d = -d;
        break;
      default: {
        auto [a, b] = popTwo(stack);
        stack.push_back(torchBinary(op.kind, std::move(a), std::move(b)));
      }
    }
  }
  if (stack.size() != 1 || !stack.back().tensor) fail("internal error: an initialiser program leaves no tensor");
  return std::move(stack.back().data);
}

}  // namespace netc
