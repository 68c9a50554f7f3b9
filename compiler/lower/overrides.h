// `--set NAME=VALUE`: settings from the command line, applied to the syntax tree before lowering, so each is
// typed and checked exactly as if the file said it (lower.cpp never knows).
//   NAME            a `const` of the file: its expression is replaced (`--set gain=5/3`, `--set H=2*E`)
//   data.KEY        a setting of the data section  (`--set data.context=4`)
//   train.KEY       a setting of the train section (`--set train.lr=0.05`, `--set "train.lr=0.1 until 1000, 0.01"`)
//   sample.KEY      a setting of the sample section (`--set sample.count=5`)
// VALUE is an expression of the language (the right-hand side of a section setting, lists and `until` included;
// a constant takes one expression). Errors in it, and unknown names (with a did-you-mean), are located at the
// --set text: the module's source gets one extra line per override, which diagnostics quote as
// "--set NAME=VALUE" (support/diag.h, SourceFile::setCommandLines).
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "lang/ast.h"

namespace netc {

// Splits "NAME=VALUE"; a usage error (exit 2) when there is no '=' or NAME is not a name, SECTION.KEY.
std::pair<std::string, std::string> splitOverride(const std::string& text);

// Applies the overrides, in order, to `m` (parsed from its file); each NAME at most once.
void applyOverrides(Module& m, const std::vector<std::string>& overrides);

// The qualified settings a --set may name, for suggestions: "data.context", "train.lr", ...
const std::vector<std::string>& settingNames();

}  // namespace netc
