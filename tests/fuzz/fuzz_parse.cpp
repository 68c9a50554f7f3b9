// libFuzzer target for the front end: lexer, parser, lowering (constant folding, shape inference, the
// verifier), the graph printer and autodiff, i.e. everything `netc check` runs on a user's file.
// Any input must either succeed or throw netc::Error; a crash, a sanitizer report, another exception,
// a hang or a leak is a bug. Build and run: see tests/fuzz/README.md.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "autodiff/autodiff.h"
#include "lower/model.h"

namespace {

std::filesystem::path gDir;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  gDir = std::filesystem::temp_directory_path() / ("netc_fuzz_" + std::to_string(getpid()));
  std::filesystem::create_directories(gDir);
  // The dataset is fixed: a path from the input could name /dev/zero or a huge file.
  std::ofstream(gDir / "words.txt") << "emma\nolivia\nava\nisabella\nsophia\nzoe\nquinn\nxavier\njade\nkyle\n"
                                       "bob\nhugo\nwyatt\nfelix\nruby\nvera\nliam\n";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return -1;  // models are small; long inputs only slow the search down
  const std::string path = (gDir / "m.net").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  netc::LowerOptions opts;
  opts.dataOverride = (gDir / "words.txt").string();
  try {
    netc::Model m = netc::loadModel(path, opts);
    std::string text = netc::printGraph(m.graph);
    netc::TrainingGraph t = netc::buildTrainingGraph(m.graph);
    text += netc::printGraph(t.graph);
    if (text.empty()) __builtin_trap();
  } catch (const netc::Error&) {
    // the expected outcome for bad input
  }
  return 0;
}
