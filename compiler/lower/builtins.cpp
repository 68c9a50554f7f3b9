#include "lower/builtins.h"

#include <map>
#include <fmt/format.h>

#include "ops/op.h"

namespace netc {

const std::vector<Builtin>& constantFunctions() {
  static const std::vector<Builtin> fns = {
      {"sqrt", 1, "c", "square root"},
      {"exp", 1, "c", "e^c"},
      {"log", 1, "c", "natural logarithm"},
      {"abs", 1, "c", "absolute value"},
      {"min", 2, "a, b", "the smaller of a and b"},
      {"max", 2, "a, b", "the larger of a and b"},
  };
  return fns;
}

const std::vector<Builtin>& initialisers() {
  static const std::vector<Builtin> inits = {
      {"randn", 0, "", "standard normal draws (mean 0, std 1)"},
      {"normal", 2, "mean, std", "normal draws with this mean and standard deviation", "normal(0, 0.02)"},
      {"zeros", 0, "", "all 0"},
      {"ones", 0, "", "all 1"},
      {"uniform", 2, "low, high", "uniform draws in [low, high)", "uniform(-0.1, 0.1)"},
  };
  return inits;
}

const Builtin* findBuiltin(const std::vector<Builtin>& table, std::string_view name) {
  for (const Builtin& b : table)
    if (name == b.name) return &b;
  return nullptr;
}

std::vector<std::string> builtinNames(const std::vector<Builtin>& table) {
  std::vector<std::string> out;
  for (const Builtin& b : table) out.push_back(b.name);
  return out;
}

std::string signature(const Builtin& b) { return b.arity == 0 ? b.name : fmt::format("{}({})", b.name, b.args); }

namespace {

// "matmul(a, b)", "sum(x, axis=K)", "reshape(x, [dims])": the tensor arguments, then keywords, then the shape.
std::string opSignature(const OpDef& op) {
  std::string args;
  if (op.args) args = op.args;
  else {
    static const char* kNames[] = {"x", "a, b", "a, b, c"};
    if (op.maxInputs >= 1 && op.maxInputs <= 3) args = kNames[op.maxInputs - 1];
  }
  for (const AttrSpec& a : op.attrs)
    if (a.keyword && a.kind != AttrSpec::Shape) args += fmt::format(", {}=N", a.name);
  if (takesShape(op)) args += ", [dims]";
  return fmt::format("{}({})", op.name, args);
}

void line(std::string& out, const std::string& sig, std::string_view summary) {
  out += fmt::format("  {:<31} {}\n", sig, summary);
}

}  // namespace

std::string opsHelp() {
  std::string out = "Ops, called as NAME(arguments) in tensor expressions:\n";
  for (const OpDef* op : allOps())
    if (!op->internal) {
      line(out, opSignature(*op), op->summary);
      // The lowering's two spellings built on an op (lower.cpp, call()), listed under the op they lower to.
      static const std::multimap<std::string_view, std::pair<const char*, const char*>> kSpellings = {
          {"reshape", {"flatten(x)", "keep the first axis, merge the others: [B, T, E] -> [B, T*E]"}},
          {"reshape", {"unsqueeze(x, axis=N)", "a size-1 axis inserted before axis N: [B, C] -> [B, 1, C]"}},
          {"reshape", {"squeeze(x, axis=N)", "axis N, of size 1, removed: [B, 1, C] -> [B, C]"}},
          {"var", {"std(x, axis=N, correction=N, keepdim=N)", "standard deviation: sqrt(var(x, ...))"}}};
      for (auto [it, end] = kSpellings.equal_range(op->name); it != end; ++it) line(out, it->second.first, it->second.second);
    }
  line(out, "batchnorm(x, gamma, beta, running_mean, running_var, eps=, momentum=, correction=, running_correction=, running=var|std, axis=)",
       "");
  line(out, "", "BatchNorm over the batch: a train form, an eval form and two state updates (docs/language.md)");
  out += "\nOperators: a + b (add), a - b (sub), a * b (mul), a / b (div), -x (neg), a @ b (matmul),\n"
         "C[x] (embedding), x ** c (x*x, sqrt, rsqrt, 1/x or pow).\n"
         "\nStatements for state: `state S : [dims] = INIT` declares it, `update S = expr` gives its next value.\n";
  out += "\nConstant functions, of constants only (folded when the model is read):\n";
  for (const Builtin& b : constantFunctions()) line(out, signature(b), b.summary);
  out += "\nInitialisers, in `param NAME : [dims] = INIT`, times constants (e.g. randn * (5/3) / sqrt(30)):\n";
  for (const Builtin& b : initialisers()) line(out, signature(b), b.summary);
  return out;
}

}  // namespace netc
