#pragma once
#include "lang/ast.h"

namespace netc {

// Parses a whole .net file; throws netc::Error with file:line:col on the first syntax error.
Module parse(const SourceRef& src);
// Reads the file and parses it; a missing file is an error naming it.
Module parseFile(const std::string& path);

}  // namespace netc
