// The netc command line as a user meets it: help, version, suggestions for typos, and exit codes
// (0 success, 1 an error in the model or data, 2 a usage error). Runs the built binary.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace {

struct Result {
  int status = -1;
  std::string out;  // stdout and stderr together
};

// Runs `netc ARGS` from the repository root.
Result netc(const std::string& args) {
  std::string cmd = std::string("cd '" NETC_SOURCE_DIR "' && '" NETC_BINARY "' ") + args + " 2>&1";
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

bool has(const Result& r, const std::string& s) { return r.out.find(s) != std::string::npos; }

const std::string kData = " --data tests/data/pseudo_words.txt";

}  // namespace

TEST_CASE("cli: --help lists every command and exits 0") {
  Result r = netc("--help");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  for (const char* c : {"check", "ir", "init", "grad", "gradcheck", "run", "sample", "bench", "help"})
    CHECK(has(r, std::string("\n  ") + c + " "));
}

TEST_CASE("cli: `netc help COMMAND` shows that command's options") {
  Result r = netc("help check");
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(has(r, "--data"));
  CHECK(has(r, "model"));
  Result all = netc("help");
  CHECK(all.status == 0);
  CHECK(has(all, "check"));
}

TEST_CASE("cli: --version prints the version") {
  Result r = netc("--version");
  CHECK(r.status == 0);
  CHECK(r.out.rfind("netc ", 0) == 0);
}

TEST_CASE("cli: an unknown command names the nearest one and exits 2") {
  Result r = netc("chek models/mlp_kaiming.net");
  CAPTURE(r.out);
  CHECK(r.status == 2);
  CHECK(has(r, "unknown command 'chek' (did you mean 'check'?)"));
  Result h = netc("help chek");
  CHECK(h.status == 2);
  CHECK(has(h, "(did you mean 'check'?)"));
}

TEST_CASE("cli: an unknown flag names the nearest one and exits 2") {
  Result r = netc("check models/mlp_kaiming.net --dat tests/data/pseudo_words.txt");
  CAPTURE(r.out);
  CHECK(r.status == 2);
  CHECK(has(r, "unknown option '--dat' (did you mean '--data'?)"));
}

TEST_CASE("cli: no command is a usage error") {
  Result r = netc("");
  CHECK(r.status == 2);
}

TEST_CASE("cli: check succeeds on a good model and prints a summary") {
  Result r = netc("check models/mlp_kaiming.net" + kData);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(has(r, "models/mlp_kaiming.net: ok"));
  CHECK(has(r, "vocabulary 27"));
}

TEST_CASE("cli: an error in the model exits 1 with file:line:col and a caret") {
  Result r = netc("check tests/errors/unknown_op.net");
  CAPTURE(r.out);
  CHECK(r.status == 1);
  CHECK(has(r, "tests/errors/unknown_op.net:9:5: error: unknown op 'tahn' (did you mean 'tanh'?)"));
  CHECK(has(r, "    9 | h = tahn(flatten(C[x]))\n      |     ^~~~\n"));
}

TEST_CASE("cli: a missing model file or dataset exits 1 naming it") {
  Result r = netc("check no/such/model.net");
  CHECK(r.status == 1);
  CHECK(has(r, "cannot open model file 'no/such/model.net'"));
  Result d = netc("check models/mlp_kaiming.net --data no/such/words.txt");
  CHECK(d.status == 1);
  CHECK(has(d, "'no/such/words.txt' (from --data) not found"));
}

TEST_CASE("cli: ir --stage graph prints the graph; a bad stage is a usage error") {
  Result r = netc("ir models/mlp_kaiming.net --stage graph" + kData);
  CAPTURE(r.out);
  CHECK(r.status == 0);
  CHECK(r.out.rfind("graph models/mlp_kaiming.net {", 0) == 0);
  CHECK(has(r, "minimize %loss"));
  Result bad = netc("ir models/mlp_kaiming.net --stage grpah" + kData);
  CHECK(bad.status == 2);
}
