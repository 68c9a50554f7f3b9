// Small helpers shared by the doctest cases.
#pragma once

#include <string>

#include "lower/model.h"
#include "support/diag.h"

namespace netc::testing {

// The synthetic words the tests train on, so that no test needs the names dataset.
inline const std::string kPseudoWords = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

// A model file reading the synthetic words instead of the dataset its data section names.
inline Model loadWithPseudoWords(const std::string& path) {
  LowerOptions o;
  o.dataOverride = kPseudoWords;
  return loadModel(path, o);
}

// models/<file> on the synthetic words.
inline Model shippedModel(const std::string& file) { return loadWithPseudoWords(NETC_SOURCE_DIR "/models/" + file); }

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
