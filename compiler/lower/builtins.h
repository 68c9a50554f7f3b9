// The names a .net file can call besides the ops of compiler/ops/: the constant functions folded while the
// model is read, and the initialisers of parameters. One table each, read by lowering (what is accepted and
// what an error says) and by `netc help ops` (what is listed), so the two cannot disagree.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace netc {

struct Builtin {
  const char* name;
  int arity;            // arguments it takes; 0 for a bare name (randn)
  const char* args;     // their names in the signature: "low, high"; "" when it takes none
  const char* summary;  // one line for `netc help ops`
  const char* example = "";  // a call with arguments, for the message about a wrong argument count
};

// sqrt, exp, log, abs, min, max: functions of constants only.
const std::vector<Builtin>& constantFunctions();
// randn, normal(mean, std), zeros, ones, uniform(low, high): the draws a parameter's initialiser is made of.
const std::vector<Builtin>& initialisers();
// The entry of `table` called `name`, or nullptr.
const Builtin* findBuiltin(const std::vector<Builtin>& table, std::string_view name);
// The names of a table, for "expected one of ..." lists and suggestions.
std::vector<std::string> builtinNames(const std::vector<Builtin>& table);
// "uniform(low, high)" or "randn".
std::string signature(const Builtin& b);

// The text of `netc help ops`: every op callable from a .net file with its signature and summary, the
// operators that stand for some of them, the constant functions and the initialisers.
std::string opsHelp();

}  // namespace netc
