// The netc command line as a user meets it: help, version, suggestions for typos, and exit codes
// (0 success, 1 an error in the model or data, 2 a usage error). Runs the built binary.
#include <doctest/doctest.h>

#include <string>

#include "run_netc.h"

using netc::testing::CommandResult;
using netc::testing::runNetc;

namespace {

const std::string kData = " --data tests/data/pseudo_words.txt";

}  // namespace

TEST_CASE("cli: --help lists every command and exits 0") {
  CommandResult r = runNetc("--help");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  for (const char* c : {"check", "ir", "init", "grad", "gradcheck", "run", "sample", "bench", "help"})
    CHECK(r.has(std::string("\n  ") + c + " "));
}

TEST_CASE("cli: `netc help COMMAND` shows that command's options") {
  CommandResult r = runNetc("help check");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.has("--data"));
  CHECK(r.has("model"));
  CommandResult all = runNetc("help");
  CHECK(all.status == 0);
  CHECK(all.has("check"));
}

TEST_CASE("cli: --version prints the version") {
  CommandResult r = runNetc("--version");
  CHECK(r.status == 0);
  CHECK(r.out.rfind("netc ", 0) == 0);
}

TEST_CASE("cli: an unknown command names the nearest one and exits 2") {
  CommandResult r = runNetc("chek models/mlp_kaiming.net");
  CAPTURE(r.out);
  CHECK(r.status == 2);
  CHECK(r.has("unknown command 'chek' (did you mean 'check'?)"));
  CommandResult h = runNetc("help chek");
  CHECK(h.status == 2);
  CHECK(h.has("(did you mean 'check'?)"));
}

TEST_CASE("cli: an unknown flag names the nearest one and exits 2") {
  CommandResult r = runNetc("check models/mlp_kaiming.net --dat tests/data/pseudo_words.txt");
  CAPTURE(r.out);
  CHECK(r.status == 2);
  CHECK(r.has("unknown option '--dat' (did you mean '--data'?)"));
}

TEST_CASE("cli: no command is a usage error") {
  CommandResult r = runNetc("");
  CHECK(r.status == 2);
}

TEST_CASE("cli: check succeeds on a good model and prints a summary") {
  CommandResult r = runNetc("check models/mlp_kaiming.net" + kData);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.has("models/mlp_kaiming.net: ok"));
  CHECK(r.has("vocabulary 27"));
}

TEST_CASE("cli: an error in the model exits 1 with file:line:col and a caret") {
  CommandResult r = runNetc("check tests/errors/unknown_op.net");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(r.has("tests/errors/unknown_op.net:9:5: error: unknown op 'tahn' (did you mean 'tanh'?)"));
  CHECK(r.has("    9 | h = tahn(flatten(C[x]))\n      |     ^~~~\n"));
}

TEST_CASE("cli: a missing model file or dataset exits 1 naming it") {
  CommandResult r = runNetc("check no/such/model.net");
  CHECK(r.status == 1);
  CHECK(r.has("cannot open model file 'no/such/model.net'"));
  CommandResult d = runNetc("check models/mlp_kaiming.net --data no/such/words.txt");
  CHECK(d.status == 1);
  CHECK(d.has("'no/such/words.txt' (from --data) not found"));
}

TEST_CASE("cli: ir --stage graph prints the graph, a bad stage is a usage error") {
  CommandResult r = runNetc("ir models/mlp_kaiming.net --stage graph" + kData);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.rfind("graph models/mlp_kaiming.net {", 0) == 0);
  CHECK(r.has("minimize %loss"));
  CommandResult bad = runNetc("ir models/mlp_kaiming.net --stage grpah" + kData);
  CHECK(bad.status == 2);
}
