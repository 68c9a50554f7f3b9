// `netc gradcheck`: the command prints the checker's table and reports through its exit status (the checker
// itself is tested in gradcheck_test.cpp).
#include <doctest/doctest.h>

#include <string>

#include "run_netc.h"

using netc::testing::CommandResult;
using netc::testing::runNetc;

TEST_CASE("netc gradcheck: prints the table and exits 0, bad options are errors") {
  CommandResult r = runNetc("gradcheck models/mlp_fixed_tanh.net --batch 4 --seed 2 --data tests/data/pseudo_words.txt");
  INFO(r.out);
  CHECK(r.status == 0);
  for (const char* p : {"C ", "W1 ", "b1 ", "W2 ", "b2 ", "max rel err", "ok: all gradients"})
    CHECK(r.out.find(p) != std::string::npos);
  CommandResult bad = runNetc("gradcheck models/mlp_fixed_tanh.net --batch 0 --data tests/data/pseudo_words.txt");
  CHECK(bad.status == 2);  // a usage error (README)
  CHECK(bad.out.find("--batch must be at least 1") != std::string::npos);
  // A step far too large for finite differences makes the check fail, and the exit status says so.
  CommandResult strict = runNetc("gradcheck models/mlp_fixed_tanh.net --batch 4 --eps 0.5 --data tests/data/pseudo_words.txt");
  CHECK(strict.status == 1);
  CHECK(strict.out.find("FAIL") != std::string::npos);
}
