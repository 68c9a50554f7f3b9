// Small helpers shared by the doctest cases.
#pragma once

#include <string>

#include "support/diag.h"

namespace netc::testing {

// The message of the netc::Error that f() throws, or "" when it throws none.
template <class F>
std::string errorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace netc::testing
