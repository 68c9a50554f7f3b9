// The netc command line as a user meets it: help, version, suggestions for typos, and exit codes
// (0 success, 1 an error in the model or data, 2 a usage error). Runs the built binary.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "lower/builtins.h"
#include "ops/op.h"
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

TEST_CASE("cli: `netc help ops` lists every op a .net file can call, the constant functions and the initialisers") {
  CommandResult r = runNetc("help ops");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  int listed = 0;
  for (const netc::OpDef* op : netc::allOps()) {
    const bool shown = r.has(std::string("\n  ") + op->name + "(");
    CHECK_MESSAGE(shown == !op->internal, op->name);  // the public ops, and none made by the compiler only
    if (op->internal) continue;
    CHECK_MESSAGE(r.has(op->summary), op->name);
    ++listed;
  }
  CHECK(listed >= 10);
  for (const char* sig : {"cross_entropy(logits, targets, ignore_index=N)", "reshape(x, [dims])", "sum(x, axis=N", "matmul(a, b)",
                          "flatten(x)", "sqrt(c)", "max(a, b)", "uniform(low, high)"})
    CHECK_MESSAGE(r.has(sig), sig);
  for (const netc::Builtin& b : netc::initialisers()) CHECK_MESSAGE(r.has(std::string("\n  ") + b.name), b.name);
}

TEST_CASE("cli: the messages that point to `netc help ops` point to a topic that exists") {
  // An unknown op says where the list is; the list names the op it suggests.
  netc::testing::ScratchDir dir("netc_cli_helpops_");
  const std::string net = (dir.path() / "typo.net").string();
  std::ofstream(net) << "data \"" NETC_SOURCE_DIR "/tests/data/pseudo_words.txt\" { context = 3 }\n"
                     << "input x : int[B, T]\nparam C : [V, 4] = randn\nloss = mean(tahn(C[x]))\nminimize loss\n";
  CommandResult bad = runNetc("check " + net);
  CAPTURE(bad.out);
  CHECK(bad.status == 1);
  CHECK(bad.has("unknown op 'tahn' (did you mean 'tanh'?); `netc help ops` lists them"));
  CommandResult ops = runNetc("help ops");
  CHECK(ops.status == 0);
  CHECK(ops.has("\n  tanh(x) "));
}

TEST_CASE("cli: netc sample prints words as it draws them, so a huge --count starts at once") {
  netc::testing::ScratchDir dir("netc_cli_stream_");
  const std::string w = (dir.path() / "w.safetensors").string();
  REQUIRE(runNetc("init models/mlp_kaiming.net" + kData + " --seed 3 --out " + w).status == 0);
  // Holding every word until the end, 100 million of them would print nothing within the timeout; streamed, head
  // gets its three lines at once and netc stops at the closed pipe.
  const auto t0 = std::chrono::steady_clock::now();
  std::string cmd = "cd '" NETC_SOURCE_DIR "' && timeout 60 '" NETC_BINARY "' sample models/mlp_kaiming.net" + kData +
                    " --weights " + w + " --count 100000000 | head -n 3";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  for (char buf[256]; std::fgets(buf, sizeof buf, p);) out += buf;
  pclose(p);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CAPTURE(out);
  CHECK(std::count(out.begin(), out.end(), '\n') == 3);
  CHECK(secs < 30);
  // The same words as a small count: streaming changes when they are printed, not which.
  CommandResult three = runNetc("sample models/mlp_kaiming.net" + kData + " --weights " + w + " --count 3");
  CHECK(three.status == 0);
  CHECK(three.out == out);
}
