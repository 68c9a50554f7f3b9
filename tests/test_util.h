// Small helpers shared by the doctest cases.
#pragma once

#include <fstream>
#include <string>

#include "lower/model.h"
#include "support/diag.h"
#include "scratch_dir.h"

namespace netc::testing {

// The synthetic words the tests train on, so that no test needs the names dataset.
inline const std::string kPseudoWords = NETC_SOURCE_DIR "/tests/data/pseudo_words.txt";

// A model file reading the synthetic words instead of the dataset its data section names.
inline Model loadWithPseudoWords(const std::string& path) {
  LowerOptions o;
  o.dataOverride = kPseudoWords;
  return loadModel(path, o);
}

// A model given as text, lowered on the synthetic words: written to `name`.net (or case<N>.net) in a scratch
// folder of this process first, so messages name a file as they do for a user's model.
inline Model lowerWithPseudoWords(const std::string& text, const std::string& name = "") {
  static ScratchDir dir("netc_text_");
  static int cases = 0;
  const std::string stem = name.empty() ? "case" + std::to_string(cases++) : name;
  const std::filesystem::path p = dir.path() / (stem + ".net");
  std::ofstream(p) << text;
  return loadWithPseudoWords(p.string());
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
