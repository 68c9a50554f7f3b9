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
};

// sqrt, exp, log, abs, min, max: functions of constants only.
const std::vector<Builtin>& constantFunctions();
// randn, zeros, ones, uniform(low, high): the distributions a parameter is drawn from.
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
